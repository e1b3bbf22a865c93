package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/checker"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// checkReport is the --json document of check and plan (stable snake_case keys).
type checkReport struct {
	Source     string          `json:"source"`
	CheckedAt  time.Time       `json:"checked_at"`
	Releases   int             `json:"releases"`
	Installed  installedReport `json:"installed"`
	Current    version.V       `json:"current"`
	Newest     version.V       `json:"newest"`
	Target     version.V       `json:"target"`
	Next       version.V       `json:"next"`
	Path       []version.V     `json:"path"`
	Held       []policy.Held   `json:"held"`
	Approval   *policy.Unlock  `json:"approval,omitempty"`
	Warnings   []string        `json:"warnings"`
	NextWindow *time.Time      `json:"next_window"`
	WindowOpen bool            `json:"window_open"`
	Expected   float64         `json:"expected_duration_seconds"`
	// WaitNow says why the daemon would not start the next hop now (window,
	// approval, an interrupted attempt, a failed rollback), by its own rule
	// (daemon.MayStart); empty when it would, or when there is no next hop.
	WaitNow string `json:"wait_now,omitempty"`
	// Gate is the health gate on the next target: the checks that exist on
	// it (internal/twenty's capability table) and those left out.
	Gate *gateReport `json:"gate"`
}

type gateReport struct {
	On      version.V `json:"on"`
	Run     []string  `json:"run"`
	LeftOut []string  `json:"left_out"` // "check (from vX.Y.Z)"
}

type installedReport struct {
	Tag     string    `json:"tag"`
	Running version.V `json:"running"`
}

func cmdCheck(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("check", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("check takes no arguments, got %q", fs.Args())
	}
	rep, err := e.checkNow(ctx, "")
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	printCheck(e.stdout, rep, false)
	return nil
}

// checkNow loads the config, asks the source and plans. current, when set,
// replaces the installed version (plan --current).
func (e *env) checkNow(ctx context.Context, current string) (checkReport, error) {
	cfg, store, err := e.open()
	if err != nil {
		return checkReport{}, err
	}
	ch, err := checker.New(cfg, checker.Deps{Store: store, Logger: e.logger, Now: e.now})
	if err != nil {
		return checkReport{}, err
	}
	if current != "" {
		v, err := version.Parse(current)
		if err != nil {
			return checkReport{}, usageErr("--current: %v", err)
		}
		ch.Installed = func(context.Context) (install.Installed, error) {
			return install.Installed{Version: v, Tag: v.String()}, nil
		}
	}
	res, err := ch.Check(ctx)
	if err != nil {
		return checkReport{}, err
	}
	rep := newReport(cfg, ch.SourceName(), res)
	hist, err := store.History()
	if err != nil {
		return rep, err
	}
	expected := daemon.ExpectedDuration(hist)
	rep.Expected = expected.Seconds()
	{
		w, now := cfg.Window.Typed, e.now()
		rep.WindowOpen, _ = w.Open(now)
		if at, ok := w.NextFit(now, expected); ok {
			at = at.UTC()
			rep.NextWindow = &at
		}
	}
	if !rep.Next.IsZero() {
		if err := daemon.MayStart(cfg, store, rep.Next, e.now()); errors.Is(err, outcome.ErrHeld) {
			rep.WaitNow = strings.TrimPrefix(err.Error(), outcome.ErrHeld.Error()+": ")
		} else if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func newReport(cfg config.Config, source string, res checker.Result) checkReport {
	p := res.Plan
	rep := checkReport{
		Source: source, CheckedAt: res.CheckedAt, Releases: len(res.Releases),
		Installed: installedReport{Tag: res.Installed.Tag, Running: res.Installed.Running},
		Current:   p.Current, Newest: p.Newest, Target: p.Target, Path: p.Path, Held: p.Held,
		Approval: p.Approval, Warnings: p.Warnings,
	}
	rep.Next, _ = p.Next()
	if !rep.Next.IsZero() {
		run, left := gateLines(cfg, rep.Next)
		rep.Gate = &gateReport{On: rep.Next, Run: run, LeftOut: left}
	}
	if rep.Path == nil {
		rep.Path = []version.V{}
	}
	if rep.Held == nil {
		rep.Held = []policy.Held{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	return rep
}

func printCheck(w io.Writer, r checkReport, withPath bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "source:\t%s, %d releases, checked %s\n", r.Source, r.Releases, r.CheckedAt.Format(time.RFC3339))
	fmt.Fprintf(tw, "installed:\t%s%s\n", orNone(r.Current), installedDetail(r.Installed))
	fmt.Fprintf(tw, "newest:\t%s\n", orNone(r.Newest))
	switch {
	case r.Target.IsZero():
		fmt.Fprintf(tw, "next target:\tnone\n")
	case withPath || len(r.Path) > 1:
		fmt.Fprintf(tw, "next target:\t%s\n", r.Next)
		fmt.Fprintf(tw, "path:\t%s (%d transaction(s), a backup before each)\n", joinVersions(r.Current, r.Path), len(r.Path))
	default:
		fmt.Fprintf(tw, "next target:\t%s\n", r.Next)
	}
	if r.NextWindow != nil {
		state := "closed"
		if r.WindowOpen {
			state = "open now"
		}
		fmt.Fprintf(tw, "next window:\t%s (window %s; expected duration %s)\n", r.NextWindow.Format(time.RFC3339), state, time.Duration(r.Expected*float64(time.Second)))
	}
	switch {
	case r.Next.IsZero():
	case r.WaitNow != "":
		fmt.Fprintf(tw, "now:\tthe daemon would wait: %s\n", r.WaitNow)
	default:
		fmt.Fprintf(tw, "now:\tthe daemon would start %s now\n", r.Next)
	}
	if g := r.Gate; g != nil && withPath {
		fmt.Fprintf(tw, "gate on %s:\t%s\n", g.On, strings.Join(g.Run, ", "))
		if len(g.LeftOut) > 0 {
			fmt.Fprintf(tw, "  left out:\t%s\n", strings.Join(g.LeftOut, ", "))
		}
	}
	tw.Flush()
	if len(r.Held) > 0 {
		fmt.Fprintf(w, "held:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, g := range groupHeld(r.Held) {
			fmt.Fprintf(tw, "  %s\t%s\n", g.label, g.reason)
		}
		tw.Flush()
	}
	if r.Approval != nil && !r.Approval.Target.IsZero() {
		fmt.Fprintf(w, "with approval (upgrade --yes, or POST /api/v1/approve): %s\n", joinVersions(r.Current, r.Approval.Path))
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
}

func installedDetail(in installedReport) string {
	var parts []string
	if in.Tag != "" {
		parts = append(parts, "TAG="+in.Tag)
	}
	if !in.Running.IsZero() {
		parts = append(parts, "running "+in.Running.String())
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func joinVersions(from version.V, path []version.V) string {
	s := []string{from.String()}
	for _, v := range path {
		s = append(s, v.String())
	}
	return strings.Join(s, " → ")
}

func orNone(v version.V) string {
	if v.IsZero() {
		return "unknown"
	}
	return v.String()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type heldGroup struct{ label, reason string }

// groupHeld folds runs of consecutive held releases with the same reason into
// one line ("v2.0.0 … v2.2.2 (8)"), so forty releases held for approval read
// as one fact; --json keeps every release.
func groupHeld(held []policy.Held) []heldGroup {
	var out []heldGroup
	for i := 0; i < len(held); {
		j := i
		for j+1 < len(held) && held[j+1].Reason == held[i].Reason {
			j++
		}
		label := held[i].Version.String()
		if j > i {
			label = fmt.Sprintf("%s … %s (%d)", held[i].Version, held[j].Version, j-i+1)
		}
		out = append(out, heldGroup{label, held[i].Reason})
		i = j + 1
	}
	return out
}
