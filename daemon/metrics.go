package daemon

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

const ns = "twenty_upgraded"

// HeldCodes returns the update_held{reason} values, pre-initialised to 0 so
// an alert or a graph sees every series: daemon/policy's Code* values plus
// CodeAwaitingApproval.
func HeldCodes() []string {
	return append(policy.Codes(), CodeAwaitingApproval)
}

// Results returns the results of a transaction (upgrades_total{result}).
func Results() []string {
	return []string{state.ResultSuccess, state.ResultRolledBack, state.ResultFailed}
}

// NotifyResults returns the results of a notification (notifications_total{result}).
func NotifyResults() []string {
	return []string{notify.ResultSent, notify.ResultFailed, notify.ResultDropped}
}

// NotifyResult counts one notification result; it is notify.Options.Result.
func (m *Metrics) NotifyResult(event, result string) {
	m.Notifications.WithLabelValues(event, result).Inc()
}

// Metrics are the daemon's Prometheus metrics (names in docs/daemon.md
// "Metrics"; binding: alerts and dashboards use them).
type Metrics struct {
	BuildInfo        *prometheus.GaugeVec
	Installed        *prometheus.GaugeVec
	Latest           *prometheus.GaugeVec
	UpdateAvailable  prometheus.Gauge
	UpdateHeld       *prometheus.GaugeVec
	LastCheck        prometheus.Gauge
	CheckErrors      prometheus.Counter
	Upgrades         *prometheus.CounterVec
	LastUpgrade      *prometheus.GaugeVec
	InProgress       prometheus.Gauge
	StepDuration     *prometheus.GaugeVec
	StepFailures     *prometheus.CounterVec
	Downtime         prometheus.Gauge
	BackupSize       prometheus.Gauge
	BackupDuration   prometheus.Gauge
	LastBackup       prometheus.Gauge
	RollbackFailed   prometheus.Gauge
	NextWindow       prometheus.Gauge
	HealthCheckUp    *prometheus.GaugeVec
	ExpectedDuration prometheus.Gauge
	Notifications    *prometheus.CounterVec
}

// NewMetrics registers every metric on reg. version is the build version.
func NewMetrics(reg prometheus.Registerer, version string) *Metrics {
	f := promauto.With(reg)
	g := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help})
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		BuildInfo:       gv("build_info", "Always 1; labels: the build version and Go version.", "version", "goversion"),
		Installed:       gv("installed_version_info", "Always 1; label: the installed Twenty version.", "version"),
		Latest:          gv("latest_version_info", "Always 1; label: the newest Twenty release the source publishes.", "version"),
		UpdateAvailable: g("update_available", "1 when a newer release would be installed now or after approval."),
		UpdateHeld:      gv("update_held", "Newer releases held back, by reason code.", "reason"),
		LastCheck:       g("last_check_timestamp_seconds", "When the last release check succeeded (Unix seconds)."),
		CheckErrors: f.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "check_errors_total",
			Help: "Release checks that failed."}),
		Upgrades: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "upgrades_total",
			Help: "Finished upgrade transactions by result (counted from history.jsonl on start)."}, []string{"result"}),
		LastUpgrade:  gv("last_upgrade_timestamp_seconds", "When the last transaction with this result finished (Unix seconds; 0: never).", "result"),
		InProgress:   g("upgrade_in_progress", "1 while an upgrade transaction runs."),
		StepDuration: gv("step_duration_seconds", "Duration of the last run of each step; rollback actions have step=\"<step>_rollback\".", "step"),
		StepFailures: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "step_failures_total",
			Help: "Step runs that failed; rollback actions have step=\"<step>_rollback\"."}, []string{"step"}),
		Downtime:         g("downtime_seconds", "Downtime of the last transaction (writers stopped until healthy again)."),
		BackupSize:       g("backup_size_bytes", "Size of the last backup set."),
		BackupDuration:   g("backup_duration_seconds", "How long the last backup took, verification included."),
		LastBackup:       g("last_backup_timestamp_seconds", "When the last verified backup finished (Unix seconds; 0: none known)."),
		RollbackFailed:   g("rollback_failed", "1 when a rollback failed and a person must recover by hand."),
		NextWindow:       g("next_window_start_timestamp_seconds", "Start of the next maintenance window the expected duration fits in (Unix seconds)."),
		HealthCheckUp:    gv("health_check_up", "Result of each health-gate check during the last gate (1 passing).", "check"),
		ExpectedDuration: g("expected_upgrade_duration_seconds", "How long the daemon expects the next transaction to take (window fit)."),
		Notifications: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "notifications_total",
			Help: "Notifications by event and result (sent, failed after every retry, dropped with a full queue), one per URL."}, []string{"event", "result"}),
	}
	m.BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	for _, r := range Results() {
		m.Upgrades.WithLabelValues(r)
		m.LastUpgrade.WithLabelValues(r)
	}
	for _, c := range HeldCodes() {
		m.UpdateHeld.WithLabelValues(c)
	}
	for _, e := range config.AllEvents() {
		for _, r := range NotifyResults() {
			m.Notifications.WithLabelValues(e, r)
		}
	}
	return m
}

// initFromHistory restores counters and last-result gauges after a restart.
func (m *Metrics) initFromHistory(hist []state.Entry) {
	for _, e := range hist {
		m.Upgrades.WithLabelValues(e.Result).Inc()
		m.LastUpgrade.WithLabelValues(e.Result).Set(unix(e.FinishedAt))
		m.Downtime.Set(e.Downtime)
		if at, ok := backupTime(e); ok {
			m.LastBackup.Set(unix(at))
		}
	}
}

// backupTime estimates when e's backup finished: its start plus the steps
// run up to and including "backup". History keeps no backup size, so only
// the timestamp survives a restart.
func backupTime(e state.Entry) (time.Time, bool) {
	if e.Backup == "" || e.StartedAt.IsZero() {
		return time.Time{}, false
	}
	var secs float64
	for _, s := range e.Steps {
		if s.Action != state.ActionRun && s.Action != "" {
			continue
		}
		secs += s.Seconds
		if s.Step == "backup" {
			return e.StartedAt.Add(time.Duration(secs * float64(time.Second))), true
		}
	}
	return time.Time{}, false
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// setVersions shows the installed and newest versions (one series each).
func (m *Metrics) setVersions(installed, latest string) {
	m.Installed.Reset()
	if installed != "" {
		m.Installed.WithLabelValues(installed).Set(1)
	}
	m.Latest.Reset()
	if latest != "" {
		m.Latest.WithLabelValues(latest).Set(1)
	}
}

// setHeld counts held releases by reason code.
func (m *Metrics) setHeld(held []policy.Held, extra string) {
	counts := map[string]float64{}
	for _, h := range held {
		counts[h.Code]++
	}
	if extra != "" {
		counts[extra]++
	}
	m.UpdateHeld.Reset()
	for _, c := range HeldCodes() {
		m.UpdateHeld.WithLabelValues(c).Set(counts[c])
	}
	for c, n := range counts {
		m.UpdateHeld.WithLabelValues(c).Set(n)
	}
}
