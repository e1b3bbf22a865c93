package notify

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

var site = Site{Host: "crm1", TwentyURL: "https://crm.example.com", StateDir: "/var/lib/twenty-upgraded", APIURL: "http://127.0.0.1:9787", TokenFile: "/etc/twenty-upgraded/api-token"}

func TestRenderRolledBack(t *testing.T) {
	title, body := Render(Event{Kind: config.EventRolledBack, Key: "v2.4.0", From: "v2.3.1", To: "v2.4.0",
		Checks: []state.CheckAnswer{{Check: "graphql", Answer: "HTTP 500: Internal server error"}}, BackupID: "20261207T030000Z-v2.3.1",
		LogLines: []string{"[Nest] ERROR QueryFailedError: column \"x\" does not exist"}}, site)
	if want := "Twenty v2.4.0 rolled back on crm1"; title != want {
		t.Errorf("title %q, want %q", title, want)
	}
	want := `The upgrade v2.3.1 → v2.4.0 on crm1 (https://crm.example.com) failed and was rolled back: Twenty runs v2.3.1 again.
Failed check: graphql: HTTP 500: Internal server error
Log:
  [Nest] ERROR QueryFailedError: column "x" does not exist
Backup used: 20261207T030000Z-v2.3.1.
v2.4.0 is now held as failed here and is not installed again.
To retry once the cause is fixed: delete its line from /var/lib/twenty-upgraded/bad-versions.`
	if body != want {
		t.Errorf("body:\n%s\nwant:\n%s", body, want)
	}
}

// An event queued by an older version (one Check and Answer in
// notify-sent.json) renders the same; without any check the error is the
// cause.
func TestRenderRolledBackOlderAndWithoutCheck(t *testing.T) {
	_, body := Render(Event{Kind: config.EventRolledBack, From: "v2.3.1", To: "v2.4.0", Check: "graphql", Answer: "HTTP 500"}, site)
	if !strings.Contains(body, "\nFailed check: graphql: HTTP 500\n") {
		t.Errorf("older event:\n%s", body)
	}
	_, body = Render(Event{Kind: config.EventRolledBack, From: "v2.3.1", To: "v2.4.0", Error: "step switch: permission denied"}, site)
	if !strings.Contains(body, "\nCause: step switch: permission denied\n") || strings.Contains(body, "Failed check") {
		t.Errorf("without a check:\n%s", body)
	}
}

func TestRenderHeldForApproval(t *testing.T) {
	title, body := Render(Event{Kind: config.EventHeldForApproval, Key: "v3.0.0", Version: "v3.0.0",
		Why: "a major step (v2 → v3) needs approval with track = \"minor\""}, site)
	if want := "Twenty v3.0.0 waits for approval on crm1"; title != want {
		t.Errorf("title %q, want %q", title, want)
	}
	want := `Twenty v3.0.0 is ready to install on crm1 (https://crm.example.com) and waits for your approval.
Why: a major step (v2 → v3) needs approval with track = "minor".
To approve it: curl -X POST -H "Authorization: Bearer $(cat /etc/twenty-upgraded/api-token)" -d '{"version":"v3.0.0"}' http://127.0.0.1:9787/api/v1/approve
It is then installed in the next maintenance window.
To install it now: systemctl stop twenty-upgraded && twenty-upgraded upgrade --to v3.0.0 --yes; systemctl start twenty-upgraded`
	if body != want {
		t.Errorf("body:\n%s\nwant:\n%s", body, want)
	}
	// Without a token file the API refuses approvals: only the CLI way.
	s := site
	s.TokenFile = ""
	_, body = Render(Event{Kind: config.EventHeldForApproval, Key: "v3.0.0", Version: "v3.0.0"}, s)
	if strings.Contains(body, "curl") || !strings.Contains(body, "twenty-upgraded upgrade --to v3.0.0 --yes") {
		t.Errorf("without a token file:\n%s", body)
	}
	// A systemd credential (relative name): the token is not at a path a shell reads.
	s.TokenFile = "api-token"
	if _, body = Render(Event{Kind: config.EventHeldForApproval, Key: "v3.0.0", Version: "v3.0.0"}, s); !strings.Contains(body, `"Authorization: Bearer $TOKEN"`) {
		t.Errorf("with a credential:\n%s", body)
	}
}

func TestRenderRollbackFailedHasRecoveryVerbatim(t *testing.T) {
	rec := "cd /opt/twenty\n  docker compose up -d\ntwenty-upgraded restore 20261207T030000Z-v2.3.1\n"
	_, body := Render(Event{Kind: config.EventRollbackFailed, From: "v2.3.1", To: "v2.4.0", Recovery: rec}, site)
	if !strings.Contains(body, "Recover by hand:\n"+strings.TrimRight(rec, "\n")+"\n") || !strings.Contains(body, "Twenty may be down") {
		t.Fatalf("body:\n%s", body)
	}
}

// recorder is a SendFunc that records each message.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	got  chan string
}

func newRecorder() *recorder { return &recorder{got: make(chan string, 100)} }

func (r *recorder) send(_ context.Context, url, title, body string) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, title)
	r.mu.Unlock()
	r.got <- title
	return nil
}

func (r *recorder) wait(t *testing.T) string {
	t.Helper()
	select {
	case m := <-r.got:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message sent")
		return ""
	}
}

func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-r.got:
		t.Fatalf("unexpected message %q", m)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestDedupeAcrossRestart: the same event is sent once, also by a new
// Notifier on the same state folder (a restart); a new key is sent.
func TestDedupeAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder()
	opts := Options{URLs: []string{"fake://"}, StateDir: dir, Site: site, Send: rec.send}
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Kind: config.EventRolledBack, Key: "v2.4.0", From: "v2.3.1", To: "v2.4.0"}
	n.Send(context.Background(), ev)
	n.Send(context.Background(), ev)
	rec.wait(t)
	rec.none(t)
	n.Close()

	n2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	n2.Send(context.Background(), ev)
	rec.none(t)
	n2.Send(context.Background(), Event{Kind: config.EventRolledBack, Key: "v2.4.1", From: "v2.3.1", To: "v2.4.1"})
	if got := rec.wait(t); got != "Twenty v2.4.1 rolled back on crm1" {
		t.Fatalf("got %q", got)
	}
	// started is off by default.
	n2.Send(context.Background(), Event{Kind: config.EventStarted, Key: "x"})
	rec.none(t)
}

// TestRollbackFailedRepeatsHourly: with a fake clock, rollback_failed is sent
// again once an hour has passed, not before, also after a restart, and no
// more once cleared.
func TestRollbackFailedRepeatsHourly(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	rec := newRecorder()
	opts := Options{URLs: []string{"fake://"}, StateDir: dir, Site: site, Send: rec.send, Now: clock}
	n, _ := New(opts)
	ev := Event{Kind: config.EventRollbackFailed, Key: "tx1", From: "v2.3.1", To: "v2.4.0"}
	n.Send(context.Background(), ev)
	rec.wait(t)
	advance(59 * time.Minute)
	n.Repeat()
	rec.none(t)
	advance(time.Minute)
	n.Repeat()
	rec.wait(t)
	n.Close()

	n2, _ := New(opts) // restarted: the repeat goes on from the file
	defer n2.Close()
	n2.Send(context.Background(), ev)
	rec.none(t)
	advance(time.Hour)
	n2.Repeat()
	if got := rec.wait(t); !strings.HasPrefix(got, "ROLLBACK FAILED") {
		t.Fatalf("got %q", got)
	}
	n2.Clear(config.EventRollbackFailed)
	advance(2 * time.Hour)
	n2.Repeat()
	rec.none(t)
}

// TestHangingReceiver: Send returns at once although the receiver never
// answers; each attempt gives up after the timeout and the result is failed.
func TestHangingReceiver(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	results := make(chan string, 10)
	const timeout = 200 * time.Millisecond
	n, err := New(Options{
		URLs:    []string{"generic+" + srv.URL + "/hook"},
		Timeout: timeout, Backoff: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		Site:   site,
		Result: func(kind, result string) { results <- kind + " " + result },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	start := time.Now()
	n.Send(context.Background(), Event{Kind: config.EventSucceeded, Key: "v2.4.0", From: "v2.3.1", To: "v2.4.0"})
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("Send blocked %s", d)
	}
	select {
	case r := <-results:
		d := time.Since(start)
		if r != "succeeded failed" {
			t.Fatalf("result %q", r)
		}
		// 4 attempts of 200ms each and 30ms of back-off.
		if d < 4*timeout || d > 4*timeout+2*time.Second {
			t.Fatalf("gave up after %s, want about %s", d, 4*timeout+30*time.Millisecond)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the send never gave up")
	}
}

// TestGenericWebhookLoopback: a real HTTP receiver on loopback gets the
// message through shoutrrr's generic webhook service.
func TestGenericWebhookLoopback(t *testing.T) {
	bodies := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/hook" {
			bodies <- string(b)
		}
	}))
	defer srv.Close()
	results := make(chan string, 1)
	n, err := New(Options{URLs: []string{"generic+" + srv.URL + "/hook"}, Site: site, Timeout: 5 * time.Second,
		Result: func(kind, result string) { results <- result }})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.Send(context.Background(), Event{Kind: config.EventRolledBack, Key: "v2.4.0", From: "v2.3.1", To: "v2.4.0", Check: "graphql", Answer: "HTTP 500"})
	select {
	case b := <-bodies:
		if !strings.Contains(b, "Failed check: graphql: HTTP 500") || !strings.Contains(b, "rolled back") {
			t.Fatalf("body %q", b)
		}
		t.Logf("received %s", b)
	case <-time.After(10 * time.Second):
		t.Fatal("receiver got nothing")
	}
	if r := <-results; r != ResultSent {
		t.Fatalf("result %q", r)
	}
}

func TestTestMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	errs := Test(context.Background(), []string{"generic+" + srv.URL + "/ok", "generic+http://127.0.0.1:1/closed"}, 2*time.Second, site, nil)
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("errs %v", errs)
	}
	if strings.Contains(errs[1].Error(), "/closed") || !strings.Contains(errs[1].Error(), "connection refused") {
		t.Fatalf("error repeats the URL: %v", errs[1])
	}
}

// TestCutByStopIsSentAfterRestart: a message the daemon could not finish
// sending when it stopped is sent by the next process, once.
func TestCutByStopIsSentAfterRestart(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{}, 1)
	hang := func(ctx context.Context, _, _, _ string) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	n, err := New(Options{URLs: []string{"fake://"}, StateDir: dir, Site: site, Send: hang, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Kind: config.EventRolledBack, Key: "v2.4.0", From: "v2.3.1", To: "v2.4.0"}
	n.Send(context.Background(), ev)
	<-started
	n.Close() // the daemon stops mid-send

	rec := newRecorder()
	n2, err := New(Options{URLs: []string{"fake://"}, StateDir: dir, Site: site, Send: rec.send})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.wait(t); got != "Twenty v2.4.0 rolled back on crm1" {
		t.Fatalf("after restart got %q", got)
	}
	n2.Send(context.Background(), ev) // the same event: already sent now
	rec.none(t)
	n2.Close()

	n3, err := New(Options{URLs: []string{"fake://"}, StateDir: dir, Site: site, Send: rec.send})
	if err != nil {
		t.Fatal(err)
	}
	defer n3.Close()
	rec.none(t) // delivered: not pending any more
}

// TestHangingReceiverDelaysOnlyItself: with one URL that never answers, the
// other URL gets every message at once, not after the hanging one's
// attempts and back-offs.
func TestHangingReceiverDelaysOnlyItself(t *testing.T) {
	got := make(chan string, 10)
	send := func(ctx context.Context, url, title, _ string) error {
		if url == "hang://" {
			<-ctx.Done()
			return ctx.Err()
		}
		got <- title
		return nil
	}
	n, err := New(Options{URLs: []string{"hang://", "ok://"}, Site: site, Send: send, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, v := range []string{"v2.4.0", "v2.4.1"} {
		n.Send(context.Background(), Event{Kind: config.EventRolledBack, Key: v, From: "v2.3.1", To: v})
	}
	for _, want := range []string{"Twenty v2.4.0 rolled back on crm1", "Twenty v2.4.1 rolled back on crm1"} {
		select {
		case title := <-got:
			if title != want {
				t.Fatalf("got %q, want %q", title, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q not sent to the answering URL while the other hangs", want)
		}
	}
}

// TestClearSentEndsTheRepeat: ClearSent, what `rollback` and `restore` call
// with the daemon stopped, ends the hourly rollback_failed of the record the
// daemon wrote; the next daemon repeats nothing, other events stay sent.
func TestClearSentEndsTheRepeat(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	rec := newRecorder()
	opts := Options{URLs: []string{"fake://"}, StateDir: dir, Site: site, Send: rec.send, Now: clock}
	n, _ := New(opts)
	failed := Event{Kind: config.EventRollbackFailed, Key: "tx1", From: "v2.3.1", To: "v2.4.0"}
	approval := Event{Kind: config.EventHeldForApproval, Key: "v3.0.0", Version: "v3.0.0"}
	n.Send(context.Background(), failed)
	n.Send(context.Background(), approval)
	rec.wait(t)
	rec.wait(t)
	n.Close()

	if cleared, err := ClearSent(dir, config.EventRollbackFailed); !cleared || err != nil {
		t.Fatalf("ClearSent: %v %v, want cleared", cleared, err)
	}
	if cleared, err := ClearSent(dir, config.EventRollbackFailed); cleared || err != nil {
		t.Fatalf("second ClearSent: %v %v, want nothing left to clear", cleared, err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	n2, _ := New(opts)
	defer n2.Close()
	n2.Repeat()
	rec.none(t)
	n2.Send(context.Background(), approval) // still remembered as sent
	rec.none(t)
	n2.Send(context.Background(), failed) // a new failure of the same transaction is told again
	if got := rec.wait(t); !strings.HasPrefix(got, "ROLLBACK FAILED") {
		t.Fatalf("got %q", got)
	}
}

func TestClearSentWithoutRecord(t *testing.T) {
	if cleared, err := ClearSent(t.TempDir(), config.EventRollbackFailed); cleared || err != nil {
		t.Fatalf("no record: %v %v", cleared, err)
	}
}

// TestHangingReceiverConnectionIsClosed: shoutrrr's webhook sends without
// a context, so only http.DefaultClient's timeout (boundDefaultClient) ends
// an attempt at a receiver that never answers; without it the connection
// stays open after our own timeout has given up.
func TestHangingReceiverConnectionIsClosed(t *testing.T) {
	release := make(chan struct{})
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // only then does the server notice the client hanging up
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ShoutrrrSend(ctx, "generic+"+srv.URL+"/hook", "t", "b") }()
	if err := <-done; err == nil {
		t.Error("a send to a receiver that never answered reported success")
	}
	bound := http.DefaultClient.Timeout // read after the send returned: no race with its write
	if bound <= 0 {
		t.Fatal("http.DefaultClient has no timeout after a send: a hanging receiver keeps its connection forever")
	}
	select {
	case <-closed:
	case <-time.After(bound + 10*time.Second):
		t.Fatalf("the connection to a receiver that never answers is still open %s after the client's %s timeout", 10*time.Second, bound)
	}
}
