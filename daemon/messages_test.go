package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// inbox is a notify SendFunc that keeps every message.
type inbox struct {
	mu   sync.Mutex
	msgs []string // title + "\n" + body
}

func (b *inbox) send(_ context.Context, _, title, body string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, title+"\n"+body)
	return nil
}

func (b *inbox) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...)
}

// withMessages gives the daemon a real notify.Notifier whose sender is box.
func withMessages(t *testing.T, box *inbox) harnessOpt {
	return func(cfg *config.Config, deps *Deps) {
		deps.NewMessenger = func(cfg config.Config, result func(event, result string)) (Messenger, error) {
			n, err := notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: cfg.Daemon.StateDir,
				Site: notify.Site{Host: "crm1", TwentyURL: cfg.Health.URL}, Send: box.send, Result: result})
			if err == nil {
				t.Cleanup(n.Close)
			}
			return n, err
		}
	}
}

// A rolled-back upgrade sends exactly one "rolled back" message naming the
// failing check and its answer, and counts it as sent.
func TestRolledBackSendsOneMessage(t *testing.T) {
	box := &inbox{}
	h := newHarness(t, withMessages(t, box))
	h.up.run = func(ctx context.Context, to version.V) (state.Entry, error) {
		return state.Entry{ID: "t", From: v1226, To: to, Result: state.ResultRolledBack, Backup: "b1",
				Error: "step health: health gate failed: not healthy within 90s\n  graphql: HTTP 500 Internal server error",
				Failure: &state.Failure{Step: "health", Checks: []state.CheckAnswer{{Check: "graphql", Answer: "HTTP 500 Internal server error"}},
					Log: []string{"[Nest] ERROR QueryFailedError: column \"x\" does not exist"}}},
			fmt.Errorf("health gate: %w", outcome.ErrRolledBack)
	}
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	_, stop := h.start(t) // started is off by default: not sent
	eventually(t, "the message", func() bool { return len(box.all()) >= 1 })
	h.d.CheckNow()
	eventually(t, "a second check", func() bool { return h.chk.count() >= 2 })
	stop()
	msgs := box.all()
	var rolled []string
	for _, m := range msgs {
		if strings.Contains(m, "rolled back") {
			rolled = append(rolled, m)
		}
	}
	if len(rolled) != 1 || !strings.Contains(rolled[0], "Failed check: graphql: HTTP 500 Internal server error\nLog:\n  [Nest] ERROR QueryFailedError") ||
		!strings.Contains(rolled[0], "Backup used: b1.") || strings.Contains(rolled[0], "not healthy within") {
		t.Fatalf("messages %q", msgs)
	}
	if got := testutil.ToFloat64(h.d.metrics.Notifications.WithLabelValues(config.EventRolledBack, notify.ResultSent)); got != 1 {
		t.Fatalf("notifications_total{rolled_back,sent} = %v", got)
	}
}

// A release held for approval sends one message with the approve command,
// however often it is checked.
func TestHeldForApprovalSendsOneMessage(t *testing.T) {
	box := &inbox{}
	h := newHarness(t, withMessages(t, box))
	res := CheckResult{Plan: policy.Plan{Current: v1226, Newest: v220, Target: v210, Path: []version.V{v210},
		Held:     []policy.Held{{Version: v220, Code: "needs_approval", Reason: "v2.2.0 is a minor step beyond track = patch", Approvable: true}},
		Approval: &policy.Unlock{Target: v220, Path: []version.V{v210, v220}}}}
	for range 3 {
		h.d.publish(res)
	}
	eventually(t, "the message", func() bool { return len(box.all()) >= 1 })
	h.d.messages.(*notify.Notifier).Close()
	msgs := box.all()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "twenty-upgraded upgrade --to v2.2.0 --yes") || !strings.Contains(msgs[0], "Why: v2.2.0 is a minor step beyond track = patch.") {
		t.Fatalf("messages %q", msgs)
	}
}

// The source is reported once after sourceFailingAfter failures in a row,
// not on every failure; a success re-arms it.
func TestSourceFailingOnce(t *testing.T) {
	box := &inbox{}
	h := newHarness(t, withMessages(t, box))
	for range 6 {
		h.d.checkFailed(errors.New("dial tcp: i/o timeout"))
	}
	eventually(t, "the message", func() bool { return len(box.all()) >= 1 })
	h.d.publish(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v1226}})
	for range 3 {
		h.d.checkFailed(errors.New("dial tcp: i/o timeout"))
	}
	eventually(t, "the second message", func() bool { return len(box.all()) >= 2 })
	h.d.messages.(*notify.Notifier).Close()
	msgs := box.all()
	if len(msgs) != 2 || !strings.Contains(msgs[0], "failed 3 checks in a row") || !strings.Contains(msgs[0], "dial tcp: i/o timeout") {
		t.Fatalf("messages %q", msgs)
	}
}

// A failed backup step sends a backup_failed message with the error.
func TestBackupFailedMessage(t *testing.T) {
	box := &inbox{}
	h := newHarness(t, withMessages(t, box))
	h.d.StepDone("pull", state.ActionRun, 0, errors.New("pull failed"))
	h.d.StepDone("backup", state.ActionRun, 0, errors.New("pg_dump: connection refused"))
	eventually(t, "the message", func() bool { return len(box.all()) >= 1 })
	h.d.messages.(*notify.Notifier).Close()
	msgs := box.all()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "Twenty backup failed on crm1") || !strings.Contains(msgs[0], "Error: pg_dump: connection refused") {
		t.Fatalf("messages %q", msgs)
	}
}

// With started in notify.events, an upgrade first says it started.
func TestStartedMessageWhenEnabled(t *testing.T) {
	box := &inbox{}
	h := newHarness(t, func(cfg *config.Config, deps *Deps) {
		deps.NewMessenger = func(cfg config.Config, result func(event, result string)) (Messenger, error) {
			return notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: cfg.Daemon.StateDir, Events: []string{config.EventStarted},
				Site: notify.Site{Host: "crm1"}, Send: box.send, Result: result})
		}
	})
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	h.d.mu.Lock()
	h.d.st.last = &CheckResult{Plan: policy.Plan{Current: v1226}}
	h.d.mu.Unlock()
	h.d.upgrade(context.Background(), h.up, v210, func() {})
	eventually(t, "the message", func() bool { return len(box.all()) >= 1 })
	h.d.messages.(*notify.Notifier).Close()
	if msgs := box.all(); len(msgs) != 1 || !strings.HasPrefix(msgs[0], "Twenty upgrade v1.22.6 → v2.1.0 started on crm1") {
		t.Fatalf("messages %q", msgs)
	}
}

// A history line written before Failure existed (or a failure no check
// judged) still makes a rolled_back message: the error, on one line, is the
// cause; nothing is parsed out of it.
func TestRolledBackWithoutFailureQuotesTheError(t *testing.T) {
	box := &inbox{}
	h := newHarness(t, withMessages(t, box))
	h.d.txnMessage(state.Entry{ID: "old", From: v1226, To: v210, Result: state.ResultRolledBack,
		Error: "step switch: rewrite .env:\n  permission denied"}, nil, false)
	eventually(t, "the message", func() bool { return len(box.all()) >= 1 })
	h.d.messages.(*notify.Notifier).Close()
	msgs := box.all()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "\nCause: step switch: rewrite .env: permission denied\n") || strings.Contains(msgs[0], "Failed check") {
		t.Fatalf("messages %q", msgs)
	}
}

// SIGHUP rebuilds the notifier from the reloaded config: the old one is
// closed, the new [notify] (here: started turned on) applies to the next
// upgrade; a reload whose notifier cannot be built fails as a whole and
// leaves a working notifier of the config in force.
func TestReloadRebuildsNotifier(t *testing.T) {
	box := &inbox{}
	var built []*notify.Notifier
	var closed int
	h := newHarness(t, func(cfg *config.Config, deps *Deps) {
		deps.NewMessenger = func(c config.Config, result func(event, result string)) (Messenger, error) {
			if c.Notify.Timeout == time.Second { // stands for a URLs file that does not parse
				return nil, errors.New("notify.urls_file: line 1 does not parse")
			}
			n, err := notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: c.Daemon.StateDir, Events: c.Notify.Events,
				Site: notify.Site{Host: "crm1"}, Send: box.send, Result: result})
			built = append(built, n)
			return closeCounter{n, &closed}, err
		}
	})
	t.Cleanup(h.d.Close)
	if len(built) != 1 {
		t.Fatalf("New built %d notifiers, want 1", len(built))
	}
	next := h.cfg
	next.Notify.Events = []string{config.EventStarted}
	h.d.deps.LoadConfig = func() (config.Config, error) { return next, nil }
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(built) != 2 || closed != 1 {
		t.Fatalf("after a reload: %d built, %d closed; want 2 and 1", len(built), closed)
	}
	h.d.mu.Lock()
	h.d.st.last = &CheckResult{Plan: policy.Plan{Current: v1226}}
	h.d.mu.Unlock()
	h.d.upgrade(context.Background(), h.up, v210, func() {})
	eventually(t, "the started message", func() bool { return len(box.all()) >= 1 })
	if msgs := box.all(); !strings.HasPrefix(msgs[0], "Twenty upgrade v1.22.6 → v2.1.0 started on crm1") {
		t.Fatalf("messages %q", msgs)
	}

	bad := next
	bad.Notify.Timeout = time.Second
	h.d.deps.LoadConfig = func() (config.Config, error) { return bad, nil }
	if err := h.d.Reload(); err == nil || !strings.Contains(err.Error(), "urls_file") {
		t.Fatalf("bad reload: %v, want the notifier's error", err)
	}
	if len(built) != 3 || closed != 2 {
		t.Fatalf("after a bad reload: %d built, %d closed; want the one in force rebuilt (3, 2)", len(built), closed)
	}
	h.d.message(notify.Event{Kind: config.EventStarted, Key: "after-bad-reload", From: "a", To: "b"})
	eventually(t, "a message through the rebuilt notifier", func() bool { return len(box.all()) >= 2 })
}

// closeCounter counts Close calls of a Messenger.
type closeCounter struct {
	*notify.Notifier
	n *int
}

func (c closeCounter) Close() { *c.n++; c.Notifier.Close() }

// A daemon that starts with no failed rollback in state.json (a person
// closed it by hand) ends the hourly rollback_failed; one that starts with
// it keeps repeating.
func TestStartEndsRollbackFailedWhenNoneWaits(t *testing.T) {
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	for _, c := range []struct {
		name    string
		failed  bool
		repeats bool
	}{{"failed rollback still open", true, true}, {"nothing open", false, false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			box := &inbox{}
			seed, err := notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: dir, Send: box.send})
			if err != nil {
				t.Fatal(err)
			}
			seed.Send(context.Background(), notify.Event{Kind: config.EventRollbackFailed, Key: "tx1", From: "v1.22.6", To: "v2.1.0"})
			eventually(t, "the first message", func() bool { return len(box.all()) == 1 })
			seed.Close()
			var n *notify.Notifier
			h := newHarness(t, func(cfg *config.Config, deps *Deps) {
				cfg.Daemon.StateDir = dir
				deps.Store, _ = state.Open(dir)
				if c.failed {
					if err := deps.Store.Save(&state.Txn{ID: "tx1", From: v1226, To: v210, Phase: state.PhaseFailed}); err != nil {
						t.Fatal(err)
					}
				}
				deps.NewMessenger = func(config.Config, func(event, result string)) (Messenger, error) {
					var err error
					n, err = notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: dir, Send: box.send, Now: later})
					return n, err
				}
			})
			defer h.d.Close()
			// Repeat's messages come before the marker (one URL sends in order).
			n.Repeat()
			n.Send(context.Background(), notify.Event{Kind: config.EventHeldForApproval, Key: "marker", Version: "marker"})
			eventually(t, "the marker", func() bool { return strings.Contains(strings.Join(box.all(), "\n"), "marker") })
			repeated := false
			for _, m := range box.all()[1:] {
				repeated = repeated || strings.HasPrefix(m, "ROLLBACK FAILED")
			}
			if repeated != c.repeats {
				t.Errorf("repeated %v, want %v: %q", repeated, c.repeats, box.all())
			}
		})
	}
}
