package daemon

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden")

// metricNames are every metric the daemon exports except build_info (its
// goversion label changes with the toolchain; TestBuildInfo checks it).
func metricNames() []string {
	var out []string
	for _, n := range []string{"installed_version_info", "latest_version_info", "update_available", "update_held",
		"last_check_timestamp_seconds", "check_errors_total", "upgrades_total", "last_upgrade_timestamp_seconds",
		"upgrade_in_progress", "step_duration_seconds", "step_failures_total", "downtime_seconds", "backup_size_bytes",
		"backup_duration_seconds", "last_backup_timestamp_seconds", "rollback_failed", "next_window_start_timestamp_seconds",
		"health_check_up", "expected_upgrade_duration_seconds", "notifications_total"} {
		out = append(out, ns+"_"+n)
	}
	return out
}

// goldenDaemon drives a daemon through a fixed story: two transactions in
// history, a check, a step failure, a backup and a health gate.
func goldenDaemon(t *testing.T) *prometheus.Registry {
	t.Helper()
	at := func(h int) time.Time { return time.Date(2026, 11, 20, h, 0, 0, 0, time.UTC) }
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []state.Entry{
		{ID: "a", From: version.MustParse("v1.21.0"), To: v1226, Result: state.ResultSuccess, StartedAt: at(3), FinishedAt: at(4), Seconds: 1200, Downtime: 300, Backup: "b1",
			Steps: []state.StepTiming{{Step: "preflight", Action: "run", Seconds: 60}, {Step: "backup", Action: "run", Seconds: 120}, {Step: "switch", Action: "run", Seconds: 1}}},
		{ID: "b", From: v1226, To: v210, Result: state.ResultRolledBack, StartedAt: at(5), FinishedAt: at(6), Seconds: 1800, Downtime: 900},
	} {
		if err := store.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	cfg := config.Default()
	d, err := New(cfg, Deps{Registerer: reg, Gatherer: reg, Store: store, Notifier: &recNotifier{}, Version: "v0.0.0-test",
		Now:       func() time.Time { return at(12) },
		NewWindow: func(string, time.Duration) (Window, error) { return fakeWindow{next: at(27)}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	d.publish(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v220, Target: v210, Path: []version.V{v210},
		Held: []policy.Held{{Version: v220, Code: "needs_approval"}}, Approval: &policy.Unlock{Target: v220, Path: []version.V{v210, v220}}}})
	d.metrics.CheckErrors.Inc()
	d.StepDone("pull", "run", 90*time.Second, nil)
	d.StepDone("start", "run", 30*time.Second, errForTest)
	d.StepDone("switch", "rollback", 2*time.Second, nil)
	d.BackupDone(123456789, 75*time.Second, at(11))
	d.HealthChecks(map[string]bool{"healthz": true, "version": false})
	d.metrics.NotifyResult("rolled_back", "sent")
	d.metrics.NotifyResult("rolled_back", "failed")
	return reg
}

var errForTest = os.ErrDeadlineExceeded

func TestMetricsGolden(t *testing.T) {
	reg := goldenDaemon(t)
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		keep := map[string]bool{}
		for _, n := range metricNames() {
			keep[n] = true
		}
		for _, mf := range mfs {
			if keep[mf.GetName()] {
				if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(reg, f, metricNames()...); err != nil {
		t.Fatalf("%v\n(run go test ./daemon -run TestMetricsGolden -update after an intended change)", err)
	}
}

func TestBuildInfo(t *testing.T) {
	reg := goldenDaemon(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != ns+"_build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "v0.0.0-test" || !strings.HasPrefix(labels["goversion"], "go") {
			t.Errorf("build_info labels %v", labels)
		}
		return
	}
	t.Fatal("no build_info")
}
