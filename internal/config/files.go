package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
)

// CheckNotifyURL reports whether shoutrrr understands the URL (scheme and
// service settings), without sending anything. The error never repeats the
// URL, which may hold a token.
func CheckNotifyURL(raw string) error {
	var r router.ServiceRouter
	if _, err := r.Locate(raw); err != nil {
		msg := err.Error()
		if strings.Contains(msg, raw) {
			msg = strings.ReplaceAll(msg, raw, "<url>")
		}
		scheme, _, _ := strings.Cut(raw, ":")
		return fmt.Errorf("not a shoutrrr URL this build understands (service %q): %s", scheme, msg)
	}
	return nil
}

// CheckFiles proves that every file the config names can be read by this
// process now: the install folder, its .env, the compose file, the release
// list, and every secret file. Load does not do this (a daemon may start
// before the install is mounted, and says so in its status); validate does,
// so that an admin learns of a typo before the first window, not in it.
// The result is an *Error (exit 78) with one problem per file, or nil.
func (c Config) CheckFiles() error {
	var found []problem
	add := func(key, format string, args ...any) {
		found = append(found, problem{key, key + ": " + fmt.Sprintf(format, args...)})
	}
	readable := func(key, path string, wantDir bool) {
		if path == "" {
			return
		}
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			add(key, "%s does not exist (set %s to the right path)", path, key)
			return
		case err != nil:
			add(key, "%v", err)
			return
		case wantDir && !fi.IsDir():
			add(key, "%s is not a folder", path)
			return
		case !wantDir && fi.IsDir():
			add(key, "%s is a folder, not a file", path)
			return
		}
		if wantDir {
			f, err := os.Open(path)
			if err == nil {
				_, err = f.Readdirnames(1)
				f.Close()
			}
			if err != nil && !errors.Is(err, io.EOF) {
				add(key, "cannot list %s: %v (the daemon runs as root; check the mount and its permissions)", path, err)
			}
			return
		}
		f, err := os.Open(path)
		if err != nil {
			add(key, "cannot read %s: %v", path, err)
			return
		}
		f.Close()
	}
	readable("install.dir", c.Install.Dir, true)
	readable("install.env_file", c.Install.EnvFile, false)
	readable("install.compose_file", c.Install.ComposeFile, false)
	if c.Release.Source == "file" {
		readable("release.file", c.Release.File, false)
	}
	for _, s := range []struct{ key, name string }{
		{"release.token_file", c.Release.TokenFile},
		{"health.api_key_file", c.Health.APIKeyFile},
		{"daemon.api_token_file", c.Daemon.APITokenFile},
	} {
		if s.name == "" {
			continue
		}
		if _, err := c.ReadSecret(s.name); err != nil {
			add(s.key, "%v", err)
		}
	}
	if c.Notify.URLsFile != "" {
		urls, err := c.NotifyURLs()
		if err != nil {
			add("notify.urls_file", "%v", err)
		}
		for _, u := range urls {
			if err := CheckNotifyURL(u.URL); err != nil {
				add("notify.urls_file", "%s:%d: %v", u.Path, u.Line, err)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	var pos positions
	if data, err := os.ReadFile(c.Path); err == nil {
		pos = keyPositions(data)
	}
	sort.SliceStable(found, func(i, j int) bool { return pos.line(found[i].key) < pos.line(found[j].key) })
	var problems []string
	for _, p := range found {
		problems = append(problems, fmt.Sprintf("%s:%s: %s", c.Path, pos.at(p.key), p.msg))
	}
	return &Error{Path: c.Path, Problems: problems}
}
