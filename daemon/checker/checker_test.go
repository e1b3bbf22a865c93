package checker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/release/releasetest"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

func installedAt(v string) func(context.Context) (install.Installed, error) {
	return func(context.Context) (install.Installed, error) {
		return install.Installed{Version: version.MustParse(v), Warnings: []string{"from test"}}, nil
	}
}

func TestCheckPlansAndCountsRequests(t *testing.T) {
	srv := releasetest.Start(t)
	cfg := config.Default()
	cfg.Release.Source, cfg.Release.URL, cfg.Release.MinAge = "github", srv.URL, 0
	store, _ := state.Open(t.TempDir())
	c, err := New(cfg, Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	c.Installed = installedAt("v1.22.0")
	first, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Plan.Current.String() != "v1.22.0" || first.Plan.Target.IsZero() || !first.Has(first.Plan.Target) {
		t.Fatalf("plan %+v", first.Plan)
	}
	if first.Plan.Warnings[0] != "from test" {
		t.Fatalf("installed warnings not carried into the plan: %q", first.Plan.Warnings)
	}
	// An unchanged feed costs one conditional request.
	second, err := c.Check(context.Background())
	if err != nil || second.Requests != 1 || second.Plan.Target != first.Plan.Target {
		t.Fatalf("second check: %d requests, target %s, %v", second.Requests, second.Plan.Target, err)
	}

	// A release that failed here is no longer the target.
	if err := store.MarkBad(first.Plan.Target, "rolled back"); err != nil {
		t.Fatal(err)
	}
	third, err := c.Check(context.Background())
	if err != nil || third.Plan.Target == first.Plan.Target {
		t.Fatalf("bad version still targeted: %+v %v", third.Plan, err)
	}
}

func TestCheckErrors(t *testing.T) {
	cfg := config.Default()
	cfg.Release.Source, cfg.Release.File = "file", filepath.Join(t.TempDir(), "releases.txt")
	os.WriteFile(cfg.Release.File, []byte("v1.0.0\nlatest\n"), 0o600)
	c, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c.Installed = installedAt("v1.0.0")
	if _, err := c.Check(context.Background()); err == nil {
		t.Fatal("a malformed release file was accepted")
	}
	boom := errors.New("no .env")
	c.Installed = func(context.Context) (install.Installed, error) { return install.Installed{}, boom }
	if _, err := c.Check(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	cfg.Release.TokenFile = "/nonexistent/token"
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("missing token file accepted")
	}
}

func TestPlanFromUpto(t *testing.T) {
	cfg := config.Default()
	cfg.Release.Source, cfg.Release.File, cfg.Release.MinAge = "file", releasetest.DemoReleaseFile(), 0
	c, err := New(cfg, Deps{Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.PlanFrom(context.Background(), install.Installed{Version: version.MustParse("v2.30.0")}, version.MustParse("v2.35.0"))
	if err != nil || res.Plan.Target.Compare(version.MustParse("v2.35.0")) > 0 || res.Plan.Target.IsZero() {
		t.Fatalf("upto not honoured: %+v %v", res.Plan, err)
	}
}

// TestJudge: `upgrade --to` is judged with the policy the daemon plans
// with: bad-versions, the compose-mode floor, and approval lifting only the
// track.
func TestJudge(t *testing.T) {
	cfg := config.Default()
	cfg.Release.Source, cfg.Release.File, cfg.Release.MinAge = "file", filepath.Join(t.TempDir(), "releases.txt"), 0
	os.WriteFile(cfg.Release.File, []byte("v0.51.2\nv0.53.0\nv1.22.6\nv1.23.1\nv2.0.0\nv2.1.0\n"), 0o600)
	store, _ := state.Open(t.TempDir())
	c, err := New(cfg, Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	judge := func(cur, target string, approved bool) []string {
		t.Helper()
		c.Installed = installedAt(cur)
		_, v, err := c.Judge(ctx, version.MustParse(target), approved)
		if err != nil {
			t.Fatal(err)
		}
		codes := []string{}
		for _, r := range v.Refusals {
			codes = append(codes, r.Code)
		}
		return codes
	}
	if got := judge("v1.23.1", "v2.0.0", false); len(got) != 1 || got[0] != "needs_approval" {
		t.Errorf("major step without approval: %v", got)
	}
	if got := judge("v1.23.1", "v2.1.0", true); len(got) != 0 {
		t.Errorf("approved major step: %v", got)
	}
	if err := store.MarkBad(version.MustParse("v2.1.0"), "rolled back"); err != nil {
		t.Fatal(err)
	}
	if got := judge("v1.23.1", "v2.1.0", true); len(got) != 1 || got[0] != "failed_here" {
		t.Errorf("bad version: %v", got)
	}
	if got := judge("v0.51.1", "v0.51.2", false); len(got) != 1 || got[0] != "unsupported" {
		t.Errorf("compose target whose image does not migrate: %v", got)
	}
	if got := judge("v1.22.6", "v1.23.5", false); len(got) != 1 || got[0] != "not_listed" {
		t.Errorf("a version the source does not list: %v", got)
	}
}
