package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// cmdStatus prints the daemon's status document: live from the running
// daemon's /api/v1/status when it answers, else built from the state folder
// and the config (state "stopped", or "interrupted" with an open transaction).
func cmdStatus(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("status", "[--json]")
	asJSON := fs.Bool("json", false, "print the status document as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("status takes no arguments, got %q", fs.Args())
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	// The install is read on this host in both cases (the daemon runs here
	// too): the daemon's document does not carry it.
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	in, cur, curErr := install.SurveyInstall(ictx, cfg, proc.Exec{})
	cancel()
	doc := statusDoc{}
	if in != nil {
		doc.Install = newInstallInfo(in, cur)
	}
	if doc.Status, err = liveStatus(ctx, cfg.Daemon.Listen); err != nil {
		e.logger.Debug("daemon not reachable; status from the state folder", "err", err)
		if doc.Status, err = offlineStatus(cfg, cur, curErr, e.now()); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printStatus(e.stdout, doc, e.now())
	return nil
}

// statusDoc is status --json: the daemon's document plus the install as
// read on this host ("install": null when it could not be read).
type statusDoc struct {
	daemon.Status
	Install *installInfo `json:"install"`
}

// liveStatus asks the daemon; any failure means "not running here".
func liveStatus(ctx context.Context, listen string) (daemon.Status, error) {
	var st daemon.Status
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return st, err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/api/v1/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("daemon status: %s", resp.Status)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&st)
	return st, err
}

// offlineStatus builds the status from the state folder, with the
// installed version read from the install (as check does; history's last
// version when that fails).
func offlineStatus(cfg config.Config, cur install.Installed, curErr error, now time.Time) (daemon.Status, error) {
	store, err := state.Open(cfg.Daemon.StateDir)
	if err != nil {
		return daemon.Status{}, err
	}
	warnings := cur.Warnings
	if curErr != nil {
		warnings = append(warnings, curErr.Error())
	}
	st, err := daemon.OfflineStatus(store, cfg.Window.Typed, cur.Version, now)
	st.Warnings = append(st.Warnings, warnings...)
	return st, err
}

func printStatus(w io.Writer, doc statusDoc, now time.Time) {
	st := doc.Status
	running := "daemon not running; read from the state folder"
	if st.DaemonRunning {
		running = "daemon running"
	}
	fmt.Fprintf(w, "state:       %s (%s)\n", st.State, running)
	if in := doc.Install; in != nil {
		fmt.Fprintf(w, "installed:   %s\n", installedLine(st.Installed, in.Tag, in.TagAlias, in.AppVersion))
		printInstall(w, in, 12)
	} else {
		fmt.Fprintf(w, "installed:   %s\n", dashIfEmpty(st.Installed.String()))
	}
	if st.DaemonRunning {
		fmt.Fprintf(w, "latest:      %s\n", dashIfEmpty(st.Latest.String()))
		fmt.Fprintf(w, "target:      %s\n", dashIfEmpty(st.Target.String()))
		if st.Waiting != "" {
			fmt.Fprintf(w, "waiting:     %s\n", st.Waiting)
		}
		for _, h := range st.Held {
			fmt.Fprintf(w, "held:        %s (%s): %s\n", h.Version, h.Code, h.Reason)
		}
		if st.LastCheckError != "" {
			fmt.Fprintf(w, "last check:  FAILED: %s\n", st.LastCheckError)
		} else if st.LastCheck != nil {
			fmt.Fprintf(w, "last check:  %s\n", st.LastCheck.UTC().Format(time.RFC3339))
		}
	}
	if st.NextWindow != nil {
		at := st.NextWindow.UTC().Format("2006-01-02 15:04 UTC")
		if !st.NextWindow.After(now) {
			at = "open now"
		}
		fmt.Fprintf(w, "next window: %s (expected duration %s)\n", at, time.Duration(st.ExpectedDurationSeconds*float64(time.Second)))
	}
	if a := st.Approval; a != nil {
		fmt.Fprintf(w, "approved:    %s at %s\n", a.Version, a.ApprovedAt.UTC().Format(time.RFC3339))
	}
	if r := st.LastResult; r != nil {
		fmt.Fprintf(w, "last result: %s %s → %s at %s (%s)\n", r.Result, dashIfEmpty(r.From.String()), dashIfEmpty(r.To.String()),
			r.FinishedAt.UTC().Format(time.RFC3339), r.ID)
	} else {
		fmt.Fprintln(w, "last result: none yet")
	}
	if t := st.Transaction; t != nil {
		fmt.Fprintf(w, "transaction: %s %s → %s, phase %s, step %s, started %s\n", t.ID, t.From, t.To, t.Phase,
			dashIfEmpty(t.Step), t.StartedAt.UTC().Format(time.RFC3339))
		if st.State == daemon.StateRollbackFailed {
			fmt.Fprintln(w, "             the rollback failed: recover by hand (see `twenty-upgraded history` and docs/daemon.md), then run twenty-upgraded rollback")
		} else if !st.DaemonRunning {
			fmt.Fprintln(w, "             interrupted: start the daemon (systemctl start twenty-upgraded) or run twenty-upgraded rollback to finish it")
		}
	}
	for _, warn := range st.Warnings {
		fmt.Fprintf(w, "warning:     %s\n", strings.TrimSpace(warn))
	}
}

// dashIfEmpty shows an unknown value as "-".
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
