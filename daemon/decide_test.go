package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/internal/window"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	next := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	open, closed := fakeWindow{open: true}, fakeWindow{next: next}
	plain := CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}
	needsApproval := CheckResult{Plan: policy.Plan{Current: v1226, Newest: v220, Target: v210, Path: []version.V{v210},
		Approval: &policy.Unlock{Target: v220, Path: []version.V{v210, v220}}}}
	onlyApproval := CheckResult{Plan: policy.Plan{Current: v1226, Newest: v220, Approval: &policy.Unlock{Target: v220, Path: []version.V{v220}}}}
	tests := []struct {
		name    string
		in      decideInput
		next    version.V
		target  version.V
		wait    string
		code    string
		nextWin time.Time
	}{
		{name: "open window installs", in: decideInput{Result: plain, Window: open}, next: v210, target: v210},
		{name: "no window means always open", in: decideInput{Result: plain}, next: v210, target: v210},
		{name: "closed window waits", in: decideInput{Result: plain, Window: closed}, target: v210, wait: "waiting for the window", nextWin: next},
		{name: "up to date", in: decideInput{Result: CheckResult{Plan: policy.Plan{Current: v210, Newest: v210}}, Window: open}, wait: "up to date"},
		{name: "require approval waits", in: decideInput{Result: plain, Window: open, RequireApproval: true},
			target: v210, wait: "waiting for approval of v2.1.0", code: CodeAwaitingApproval},
		{name: "require approval approved", in: decideInput{Result: plain, Window: open, RequireApproval: true, Approval: &state.Approval{Version: v210}},
			next: v210, target: v210},
		{name: "approval of another version does not count", in: decideInput{Result: plain, Window: open, RequireApproval: true, Approval: &state.Approval{Version: v220}},
			target: v210, wait: "waiting for approval", code: CodeAwaitingApproval},
		{name: "beyond track without approval takes the allowed target", in: decideInput{Result: needsApproval, Window: open}, next: v210, target: v210},
		{name: "beyond track approved takes the approval path", in: decideInput{Result: needsApproval, Window: open, Approval: &state.Approval{Version: v220}},
			next: v210, target: v220},
		{name: "only approval would allow", in: decideInput{Result: onlyApproval, Window: open}, wait: "v2.2.0 needs approval"},
		{name: "only approval, approved", in: decideInput{Result: onlyApproval, Window: open, Approval: &state.Approval{Version: v220}}, next: v220, target: v220},
		{name: "rollback failed never installs", in: decideInput{Result: plain, Window: open, RollbackFailed: true}, target: v210, wait: "rollback failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now, tt.in.Expected = now, time.Hour
			got := decide(tt.in)
			if got.Next != tt.next || got.Target != tt.target || got.Code != tt.code {
				t.Errorf("next %s target %s code %q; want %s %s %q", got.Next, got.Target, got.Code, tt.next, tt.target, tt.code)
			}
			if !strings.HasPrefix(got.Wait, tt.wait) || (tt.wait == "") != (got.Wait == "") {
				t.Errorf("wait %q, want prefix %q", got.Wait, tt.wait)
			}
			if !tt.nextWin.IsZero() && !got.NextWindow.Equal(tt.nextWin) {
				t.Errorf("next window %s, want %s", got.NextWindow, tt.nextWin)
			}
		})
	}
}

func TestExpectedDuration(t *testing.T) {
	ok := func(secs float64) state.Entry { return state.Entry{Result: state.ResultSuccess, Seconds: secs} }
	tests := []struct {
		name string
		hist []state.Entry
		want time.Duration
	}{
		{"no history: the safe default", nil, DefaultExpected},
		{"only failures: the default", []state.Entry{{Result: state.ResultRolledBack, Seconds: 9000}}, DefaultExpected},
		{"longest success × 1.5", []state.Entry{ok(1200), ok(2400), ok(1800)}, time.Hour},
		{"short runs: the floor", []state.Entry{ok(60)}, expectedFloor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpectedDuration(tt.hist); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestInterruptedWaitsForTheNextWindow: a release rolled back after a crash
// in this window is tried once more, in the next window, not at once.
func TestInterruptedWaitsForTheNextWindow(t *testing.T) {
	w, err := window.New("CRON_TZ=UTC 0 3 * * *", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plain := CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}
	now := time.Date(2026, 11, 28, 3, 40, 0, 0, time.UTC)
	hist := []state.Entry{{To: v210, Result: state.ResultRolledBack, Interrupted: true, FinishedAt: now.Add(-20 * time.Minute)}}
	in := decideInput{Result: plain, Window: w, Now: now, Expected: 15 * time.Minute, Interrupted: interruptedAttempts(hist)}
	got := decide(in)
	if !got.Next.IsZero() || !strings.Contains(got.Wait, "tried once more at the next window") {
		t.Fatalf("same window: next %s, wait %q", got.Next, got.Wait)
	}
	if want := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC); !got.NextWindow.Equal(want) {
		t.Fatalf("next window %s, want %s", got.NextWindow, want)
	}
	in.Now = time.Date(2026, 11, 29, 3, 5, 0, 0, time.UTC) // the next window
	if got := decide(in); got.Next != v210 {
		t.Fatalf("next window: next %s, wait %q", got.Next, got.Wait)
	}
	// A later transaction of the version that was not interrupted clears it.
	hist = append(hist, state.Entry{To: v210, Result: state.ResultFailed})
	in.Now, in.Interrupted = now, interruptedAttempts(hist)
	if got := decide(in); got.Next != v210 {
		t.Fatalf("after a plain failure: next %s, wait %q", got.Next, got.Wait)
	}
}
