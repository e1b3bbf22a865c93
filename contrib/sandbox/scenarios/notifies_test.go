package scenarios

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
)

// TestDaemonNotifies drives the real daemon with [notify] on one stack on
// v2.0.2 (issue 12, "Tested for real"). The receivers are real servers on
// loopback that shoutrrr talks to over the wire: an HTTP receiver (generic
// webhook), a small SMTP server, and one that accepts and never answers.
// A release held for approval is told once, across checks and a restart; a
// broken release (v2.4.0) rolled back is told once to each receiver, with
// the failing check and its answer; and with the hanging receiver added the
// same upgrade takes no longer than without it, bar the notify timeout,
// while the other receiver still gets its message at once.
func TestDaemonNotifies(t *testing.T) {
	defer timed(t, "TestDaemonNotifies")()
	s := sandbox.Start(t, sandbox.Options{Tag: "v2.0.2"})
	if err := s.SeedSentinels(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := startReceivers(t)
	var baseline time.Duration // the rolled-back upgrade without the hanging receiver
	for _, part := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"held for approval", func(t *testing.T) { heldForApprovalOnce(t, s, r) }},
		{"rolled back", func(t *testing.T) { baseline = rolledBackOnce(t, s, r) }},
		{"hanging receiver", func(t *testing.T) { hangingReceiver(t, s, r, baseline) }},
	} {
		if !t.Run(part.name, func(t *testing.T) { defer timed(t, part.name)(); part.f(t) }) {
			return
		}
	}
	// Minutes after the first messages, still one of each per receiver
	// (the rolled-back upgrade ran twice on the webhook: two transactions).
	for _, c := range []struct {
		name  string
		box   *inbox
		title string
		want  int
	}{
		{"webhook", &r.web.inbox, "waits for approval", 1},
		{"smtp", &r.smtp.inbox, "waits for approval", 1},
		{"webhook", &r.web.inbox, "rolled back", 2},
		{"smtp", &r.smtp.inbox, "rolled back", 1},
	} {
		if got := len(c.box.Matching(c.title)); got != c.want {
			t.Errorf("%s: %d messages %q at the end, want %d: %q", c.name, got, c.title, c.want, titles(c.box.Messages()))
		}
	}
}

// receivers are the loopback servers the daemon notifies.
type receivers struct {
	web  *Webhook
	smtp *SMTPServer
	hang *Hang
}

func startReceivers(t *testing.T) *receivers {
	t.Helper()
	web, err := StartWebhook()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { web.Close() })
	smtp, err := StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	hang, err := StartHang()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	return &receivers{web: web, smtp: smtp, hang: hang}
}

// notifyTimeout is notify.timeout in these parts: long enough that a send
// which held the upgrade up would show far beyond the noise of two runs.
func notifyTimeout() time.Duration { return testreq.Timeout(30 * time.Second) }

func notifyOptions(urls ...string) *NotifyOptions {
	return &NotifyOptions{URLs: urls, Events: append(config.DefaultEvents(), config.EventStarted), Timeout: notifyTimeout().String()}
}

// heldForApprovalOnce: v2.7.0 waits for approval; three checks, one of them
// after a restart, make one message at each receiver, with the command.
func heldForApprovalOnce(t *testing.T, s *sandbox.Stack, r *receivers) {
	ctx := context.Background()
	if err := s.Registry.Publish(ctx, "v2.7.0"); err != nil {
		t.Fatal(err)
	}
	sc := begin(t, s, ConfigOptions{RequireApproval: true, Notify: &NotifyOptions{URLs: []string{r.web.URL(), r.smtp.URL()}}})
	sc.start()
	sc.waitReady()
	st := sc.checked(time.Time{})
	if !strings.Contains(st.Waiting, "waiting for approval of v2.7.0") {
		t.Fatalf("status waiting %q, want v2.7.0 waiting for approval", st.Waiting)
	}
	since := time.Now()
	if err := sc.d.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	sc.checked(since)
	for _, b := range []struct {
		name string
		box  *inbox
	}{{"webhook", &r.web.inbox}, {"smtp", &r.smtp.inbox}} {
		m := waitMessage(t, b.name, b.box, "Twenty v2.7.0 waits for approval")
		want := `To approve it: curl -X POST -H "Authorization: Bearer $(cat ` + sc.su.TokenFile + `)" -d '{"version":"v2.7.0"}' ` + sc.d.URL() + "/api/v1/approve"
		if !strings.Contains(m.Body, want) || !strings.Contains(m.Body, "twenty-upgraded upgrade --to v2.7.0 --yes") {
			t.Errorf("%s: approval message without the approve call %q and the CLI command:\n%s", b.name, want, m.Body)
		}
		t.Logf("%s received %q:\n%s", b.name, m.Title, m.Body)
	}
	sc.stop()
	sc.start() // a restart remembers what was sent
	sc.waitReady()
	st = sc.checked(time.Time{})
	if st.Target.String() != "v2.7.0" {
		t.Errorf("after the restart target %s, want v2.7.0 still waiting", st.Target)
	}
	wantMetric(t, sc.metrics(), 0, "twenty_upgraded_notifications_total", "event", config.EventHeldForApproval, "result", "sent")
	sc.stop()
	if n := len(r.web.Matching("waits for approval")); n != 1 {
		t.Errorf("webhook got %d approval messages, want 1", n)
	}
	if err := s.Registry.Unpublish(ctx, "v2.7.0"); err != nil { // the next parts upgrade to v2.4.0
		t.Fatal(err)
	}
}

// rolledBackOnce: v2.4.0 (#23012) rolls back; each receiver gets one
// message naming the failing check with its answer as history records it.
// It returns how long the upgrade took, seen from outside.
func rolledBackOnce(t *testing.T, s *sandbox.Stack, r *receivers) time.Duration {
	sc := begin(t, s, ConfigOptions{Notify: notifyOptions(r.web.URL(), r.smtp.URL())})
	en, took := upgradeBroken(t, s, sc)
	for _, b := range []struct {
		name string
		box  *inbox
	}{{"webhook", &r.web.inbox}, {"smtp", &r.smtp.inbox}} {
		m := waitMessage(t, b.name, b.box, "Twenty v2.4.0 rolled back")
		t.Logf("%s received %q:\n%s", b.name, m.Title, m.Body)
		wantRolledBackMessage(t, b.name, m, en)
		if n := len(b.box.Matching("rolled back")); n != 1 {
			t.Errorf("%s: %d rolled-back messages, want 1: %q", b.name, n, titles(b.box.Messages()))
		}
	}
	wantMetric(t, sc.metrics(), 2, "twenty_upgraded_notifications_total", "event", config.EventRolledBack, "result", "sent")
	sc.stop()
	if err := s.Registry.Unpublish(context.Background(), "v2.4.0"); err != nil {
		t.Fatal(err)
	}
	return took
}

// hangingReceiver: the same upgrade with a receiver that accepts and never
// answers. It costs the upgrade at most the notify timeout (in fact
// nothing: the daemon only queues), and the webhook beside it gets the
// rolled-back message at once, not after the hanging one's retries.
func hangingReceiver(t *testing.T, s *sandbox.Stack, r *receivers, baseline time.Duration) {
	if baseline == 0 {
		t.Fatal("no baseline: the rolled back part did not run")
	}
	before := len(r.web.Matching("rolled back"))
	sc := begin(t, s, ConfigOptions{Notify: notifyOptions(r.hang.URL(), r.web.URL())})
	en, took := upgradeBroken(t, s, sc)
	limit := notifyTimeout()
	t.Logf("rolled-back upgrade with a hanging receiver %.1fs, without %.1fs (notify timeout %s)", took.Seconds(), baseline.Seconds(), limit)
	if took > baseline+limit {
		t.Errorf("the upgrade took %s with a hanging receiver, %s without: slower by more than the notify timeout %s", took, baseline, limit)
	}
	acc := r.hang.Accepted()
	if len(acc) == 0 || !acc[0].Before(en.FinishedAt) {
		t.Errorf("the hanging receiver was not in play during the upgrade (connections at %v, finished %s)", acc, en.FinishedAt)
	}
	m := waitMessage(t, "webhook", &r.web.inbox, "Twenty v2.4.0 rolled back", before)
	wantRolledBackMessage(t, "webhook", m, en)
	late := m.At.Sub(en.FinishedAt)
	t.Logf("the webhook got the rolled-back message %s after the engine finished, while the hanging receiver still held %d connection(s)", late.Round(time.Millisecond), len(r.hang.Accepted()))
	if late > limit {
		t.Errorf("the webhook got the rolled-back message %s after the rollback: held up behind the hanging receiver", late)
	}
	sc.stop() // the hanging send is cut short: stop is not held up either
}

// upgradeBroken publishes v2.4.0, asks for a check and waits for the
// rolled-back transaction; took is from the check request to idle.
func upgradeBroken(t *testing.T, s *sandbox.Stack, sc *scenario) (state.Entry, time.Duration) {
	ctx := context.Background()
	sc.start()
	sc.waitReady()
	sc.checked(time.Time{})
	if err := s.Registry.Publish(ctx, "v2.4.0"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code, b, err := sc.d.Post(ctx, "/api/v1/check", sc.su.Token, nil); err != nil || code != 202 {
		t.Fatalf("POST /api/v1/check: HTTP %d %s %v", code, b, err)
	}
	en := sc.waitResult(5*time.Minute, "v2.4.0")
	took := time.Since(start)
	if en.Result != state.ResultRolledBack {
		t.Fatalf("result %s, want rolled_back: %s", en.Result, en.Error)
	}
	if en.Failure == nil || len(en.Failure.Checks) == 0 {
		t.Fatalf("history records no failing check: failure %+v, error %s", en.Failure, en.Error)
	}
	intact(t, s, "v2.0.2")
	t.Logf("v2.0.2 → v2.4.0 rolled back in %.1fs (engine %.1fs), failure %+v", took.Seconds(), en.Seconds, *en.Failure)
	return en, took
}

// wantRolledBackMessage: the message names every failing check with its
// answer, quotes the server log line that failed it, and the backup.
func wantRolledBackMessage(t *testing.T, who string, m Received, en state.Entry) {
	t.Helper()
	for _, c := range en.Failure.Checks {
		if want := "Failed check: " + c.Check + ": " + c.Answer; !strings.Contains(m.Body, want) {
			t.Errorf("%s: message does not name the failing check %q:\n%s", who, want, m.Body)
		}
	}
	for _, want := range []string{"Upgrade completed with errors", "Backup used: " + en.Backup + ".", "v2.4.0 is now held as failed here"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("%s: message lacks %q:\n%s", who, want, m.Body)
		}
	}
}

// waitMessage waits for a message whose title contains title, beyond the
// first skip such messages, and returns it.
func waitMessage(t *testing.T, who string, box *inbox, title string, skip ...int) Received {
	t.Helper()
	n := 0
	if len(skip) > 0 {
		n = skip[0]
	}
	deadline := time.Now().Add(testreq.Timeout(time.Minute))
	for {
		if ms := box.Matching(title); len(ms) > n {
			return ms[n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no message %q within a minute; got %q", who, title, titles(box.Messages()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func titles(ms []Received) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Title
	}
	return out
}
