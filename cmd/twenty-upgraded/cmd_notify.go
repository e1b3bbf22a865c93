package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

// cmdNotify is `notify --test`: one test message to every URL of
// notify.urls_file, one line per URL (its line number and service, never the
// URL: it holds a token), exit 1 when any failed.
func cmdNotify(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("notify", "--test")
	test := fs.Bool("test", false, "send one test message to every notification URL and print each result")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("notify takes no arguments, got %q", fs.Args())
	}
	if !*test {
		return usageErr("notify needs --test (the daemon sends the real notifications)")
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if cfg.Notify.URLsFile == "" {
		return errors.New("notify.urls_file is not set: nothing to send to (docs/notify.md)")
	}
	lines, err := cfg.NotifyURLs()
	if err != nil {
		return fmt.Errorf("notify.urls_file: %w", err)
	}
	urls := make([]string, len(lines))
	for i, l := range lines {
		urls[i] = l.URL
	}
	errs := notify.Test(ctx, urls, cfg.Notify.Timeout, siteOf(cfg), nil)
	failed := 0
	for i, l := range lines {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(e.stdout, "%s:%d: %s: FAILED: %v\n", l.Path, l.Line, notify.Service(l.URL), errs[i])
			continue
		}
		fmt.Fprintf(e.stdout, "%s:%d: %s: sent\n", l.Path, l.Line, notify.Service(l.URL))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notification URLs failed", failed, len(lines))
	}
	return nil
}

// siteOf is what every message names about this install.
func siteOf(cfg config.Config) notify.Site {
	host, _ := os.Hostname()
	s := notify.Site{Host: host, TwentyURL: cfg.Health.URL, StateDir: cfg.Daemon.StateDir, TokenFile: cfg.Daemon.APITokenFile}
	if cfg.Daemon.Listen != "" {
		h, p, err := net.SplitHostPort(cfg.Daemon.Listen)
		if err == nil {
			if h == "" || h == "0.0.0.0" || h == "::" {
				h = "127.0.0.1"
			}
			s.APIURL = "http://" + net.JoinHostPort(h, p)
		}
	}
	return s
}
