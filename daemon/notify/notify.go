package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

// Results of one event to one URL, the result label of the metric.
const (
	ResultSent    = "sent"
	ResultFailed  = "failed"  // every attempt failed or timed out
	ResultDropped = "dropped" // the queue was full
)

// RepeatEvery is how often rollback_failed is sent again until cleared.
const RepeatEvery = time.Hour

// SentFile is the dedupe record in the state folder.
const SentFile = "notify-sent.json"

// SendFunc sends one message to one URL within ctx.
type SendFunc func(ctx context.Context, url, title, body string) error

// Options configure a Notifier; only URLs and StateDir are required.
type Options struct {
	URLs     []string
	Events   []string      // enabled kinds; nil = config.DefaultEvents()
	Timeout  time.Duration // one attempt to one URL; 0 = 10s
	StateDir string        // where SentFile lives; "" = no dedupe across restarts
	Site     Site
	// Backoff is the wait before each retry; nil = 2s, 10s, 1m (3 retries).
	Backoff []time.Duration
	Now     func() time.Time          // nil = time.Now
	Send    SendFunc                  // nil = shoutrrr
	Result  func(kind, result string) // called once per event and URL; nil = none
	Logger  *slog.Logger
}

// Notifier sends events in the background. The zero value is not usable;
// a nil *Notifier ignores every call (no URLs configured).
type Notifier struct {
	o       Options
	enabled map[string]bool
	// queues holds one queue per URL, each with its own sender, so a
	// receiver that hangs delays only its own messages.
	queues []chan *job
	done   chan struct{}
	wg     sync.WaitGroup
	// closeOnce makes Close safe to call twice.
	closeOnce sync.Once

	mu   sync.Mutex
	sent map[string]sentRecord // kind + "\x00" + key
}

// job is one event on its way to every URL.
type job struct {
	ev          Event
	title, body string
	left        atomic.Int32 // URLs not done with it yet
	unfinished  atomic.Bool  // one was cut short by Close or dropped: stays pending
}

// queueLen is how many events may wait for one URL before new ones are
// dropped (counted as dropped, left pending for the next start).
const queueLen = 64

// sentRecord is one entry of SentFile.
type sentRecord struct {
	Kind string    `json:"event"`
	Key  string    `json:"key"`
	At   time.Time `json:"sent_at"`
	// Event is kept so that a message still queued at a stop, and the
	// hourly repeat of rollback_failed, survive a restart.
	Event *Event `json:"event_data,omitempty"`
	// Pending: queued, not yet tried on every URL; a restart sends it.
	Pending bool `json:"pending,omitempty"`
}

// New starts a Notifier; Close stops it. With no URLs it returns nil, a
// Notifier that does nothing.
func New(o Options) (*Notifier, error) {
	if len(o.URLs) == 0 {
		return nil, nil
	}
	if o.Events == nil {
		o.Events = config.DefaultEvents()
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Backoff == nil {
		o.Backoff = []time.Duration{2 * time.Second, 10 * time.Second, time.Minute}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Send == nil {
		o.Send = ShoutrrrSend
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{o: o, enabled: map[string]bool{}, done: make(chan struct{}), sent: map[string]sentRecord{}}
	for range o.URLs {
		n.queues = append(n.queues, make(chan *job, queueLen))
	}
	for _, e := range o.Events {
		n.enabled[e] = true
	}
	if err := n.load(); err != nil {
		return nil, err
	}
	for _, r := range n.sent { // queued when the last process stopped
		if r.Pending && r.Event != nil {
			n.enqueue(*r.Event)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.wg.Add(2 + len(o.URLs))
	go func() { defer n.wg.Done(); <-n.done; cancel() }()
	go n.repeatLoop()
	for i := range o.URLs {
		go n.sender(ctx, i)
	}
	return n, nil
}

// Close stops the background sender. Messages still queued, or cut short
// by the stop, stay pending in the state folder and the next New sends them.
func (n *Notifier) Close() {
	if n == nil {
		return
	}
	n.closeOnce.Do(func() { close(n.done) })
	n.wg.Wait()
}

// Send queues ev for every URL unless its kind is off or it was sent before
// (same Kind and Key, also before a restart). It never waits for a receiver.
// rollback_failed, once sent, is sent again by Repeat every RepeatEvery.
func (n *Notifier) Send(ctx context.Context, ev Event) {
	if n == nil || !n.enabled[ev.Kind] {
		return
	}
	now := n.o.Now()
	n.mu.Lock()
	k := ev.Kind + "\x00" + ev.Key
	if _, dup := n.sent[k]; dup {
		n.mu.Unlock()
		return
	}
	e := ev
	n.sent[k] = sentRecord{Kind: ev.Kind, Key: ev.Key, At: now, Event: &e, Pending: true}
	n.saveLocked()
	n.mu.Unlock()
	n.enqueue(ev)
}

// Clear forgets every sent event of kind, so the next one is sent again:
// a rollback or restore that succeeded ends the hourly rollback_failed, a
// release source that answers again re-arms source_failing.
func (n *Notifier) Clear(kind string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	changed := false
	for k, r := range n.sent {
		if r.Kind == kind {
			delete(n.sent, k)
			changed = true
		}
	}
	if changed {
		n.saveLocked()
	}
}

// Repeat sends again each rollback_failed sent RepeatEvery or longer ago.
// The background goroutine calls it every minute; tests call it with a
// fake clock.
func (n *Notifier) Repeat() {
	if n == nil {
		return
	}
	now := n.o.Now()
	var due []Event
	n.mu.Lock()
	for k, r := range n.sent {
		if r.Kind == config.EventRollbackFailed && r.Event != nil && now.Sub(r.At) >= RepeatEvery {
			r.At, r.Pending = now, true
			n.sent[k] = r
			due = append(due, *r.Event)
		}
	}
	if len(due) > 0 {
		n.saveLocked()
	}
	n.mu.Unlock()
	for _, ev := range due {
		n.enqueue(ev)
	}
}

func (n *Notifier) enqueue(ev Event) {
	title, body := Render(ev, n.o.Site)
	j := &job{ev: ev, title: title, body: body}
	j.left.Store(int32(len(n.queues)))
	for _, q := range n.queues {
		select {
		case q <- j:
		default:
			n.result(ev.Kind, ResultDropped)
			n.o.Logger.Warn("notification queue full, dropped", "event", ev.Kind)
			j.unfinished.Store(true)
			n.finished(j)
		}
	}
}

func (n *Notifier) result(kind, result string) {
	if n.o.Result != nil {
		n.o.Result(kind, result)
	}
}

// repeatLoop calls Repeat every minute until Close.
func (n *Notifier) repeatLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-tick.C:
			n.Repeat()
		}
	}
}

// sender delivers the jobs of URL i, one after the other, until Close.
func (n *Notifier) sender(ctx context.Context, i int) {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case j := <-n.queues[i]:
			n.deliver(ctx, i, j)
		}
	}
}

// deliver sends j to URL i, with retries, and counts the result.
func (n *Notifier) deliver(ctx context.Context, i int, j *job) {
	u := n.o.URLs[i]
	err := n.try(ctx, u, j)
	switch {
	case err != nil && ctx.Err() != nil:
		j.unfinished.Store(true) // stopped mid-send: a restart sends it again
		n.result(j.ev.Kind, ResultFailed)
		n.o.Logger.Warn("notification cut short by the stop; sent again at the next start", "event", j.ev.Kind, "url", i+1, "service", Service(u), "err", err)
	case err != nil:
		n.result(j.ev.Kind, ResultFailed)
		n.o.Logger.Warn("notification failed", "event", j.ev.Kind, "url", i+1, "service", Service(u), "err", err)
	default:
		n.result(j.ev.Kind, ResultSent)
		n.o.Logger.Info("notification sent", "event", j.ev.Kind, "url", i+1, "service", Service(u))
	}
	n.finished(j)
}

// finished is called once per URL of j; after the last one a job that
// every URL saw through is no longer pending.
func (n *Notifier) finished(j *job) {
	if j.left.Add(-1) > 0 || j.unfinished.Load() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k := j.ev.Kind + "\x00" + j.ev.Key
	if r, ok := n.sent[k]; ok && r.Pending {
		r.Pending = false
		n.sent[k] = r
		n.saveLocked()
	}
}

// try is one attempt plus len(Backoff) retries, each bounded by Timeout.
func (n *Notifier) try(ctx context.Context, url string, j *job) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = SendOnce(ctx, n.o.Send, n.o.Timeout, url, j.title, j.body)
		if err == nil || attempt >= len(n.o.Backoff) || ctx.Err() != nil {
			return err
		}
		if clock.Sleep(ctx, n.o.Backoff[attempt]) != nil {
			return err
		}
	}
}

// SendOnce runs send bounded by timeout: past it the attempt is given up
// (the sender's goroutine may go on until its own HTTP client gives up,
// but nobody waits for it).
func SendOnce(ctx context.Context, send SendFunc, timeout time.Duration, url, title, body string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- send(ctx, url, title, body) }()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", timeout)
	}
}

// ShoutrrrSend sends through shoutrrr. Its services do not take a context,
// so the deadline of ctx becomes the router's timeout.
func ShoutrrrSend(ctx context.Context, url, title, body string) error {
	boundDefaultClient(ctx)
	r, err := router.New(nil, url)
	if err != nil {
		return errors.New(redact(err.Error(), url))
	}
	if dl, ok := ctx.Deadline(); ok {
		r.Timeout = time.Until(dl)
	}
	params := types.Params{}
	if title != "" {
		params["title"] = title
	}
	for _, e := range r.Send(body, &params) {
		if e != nil {
			return errors.New(redact(e.Error(), url))
		}
	}
	return nil
}

// defaultClientOnce guards the one change to http.DefaultClient.
var defaultClientOnce sync.Once

// boundDefaultClient gives http.DefaultClient a timeout (the first send's,
// at least 5 s): shoutrrr's HTTP services (generic webhook, ntfy, Slack, …)
// send with it and without a context, so without one every attempt at a
// receiver that accepts and never answers would leave a goroutine and a
// connection behind for good once our own timeout gave up on it. Set once,
// before the first request, so no request reads it while it changes; the
// daemon itself never uses http.DefaultClient.
func boundDefaultClient(ctx context.Context) {
	defaultClientOnce.Do(func() {
		t := 30 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			t = max(time.Until(dl), 5*time.Second)
		}
		http.DefaultClient.Timeout = t
	})
}

// Test sends one test message to every URL and returns one error (nil:
// sent) per URL, in order.
func Test(ctx context.Context, urls []string, timeout time.Duration, s Site, send SendFunc) []error {
	if send == nil {
		send = ShoutrrrSend
	}
	title, body := Render(Event{Kind: eventTest}, s)
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = SendOnce(ctx, send, timeout, u, title, body)
		}()
	}
	wg.Wait()
	return errs
}

// Service is the scheme of a shoutrrr URL, safe to log (the rest may hold a token).
func Service(url string) string {
	s, _, _ := strings.Cut(url, ":")
	return s
}

// urlish is anything in an error that looks like a URL: the service's own
// errors repeat the URL they were given, token and all.
var urlish = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)

func redact(msg, url string) string {
	msg = strings.ReplaceAll(msg, url, "<url>")
	return urlish.ReplaceAllString(msg, "<url>")
}

func (n *Notifier) path() string {
	if n.o.StateDir == "" {
		return ""
	}
	return filepath.Join(n.o.StateDir, SentFile)
}

func (n *Notifier) load() error {
	recs, err := readSent(n.path())
	if errors.Is(err, errDamaged) {
		// A damaged record costs at most a repeated message: start afresh.
		n.o.Logger.Warn("notification record unreadable, starting afresh", "path", n.path(), "err", err)
		return nil
	}
	for _, r := range recs {
		n.sent[r.Kind+"\x00"+r.Key] = r
	}
	return err
}

var errDamaged = errors.New("damaged")

// readSent reads the records at p: none when p is "" or missing; an error
// wrapping errDamaged when it does not parse.
func readSent(p string) ([]sentRecord, error) {
	if p == "" {
		return nil, nil
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []sentRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("%w: %w", errDamaged, err)
	}
	return recs, nil
}

func writeSent(p string, recs []sentRecord) error {
	b, _ := json.MarshalIndent(recs, "", "  ")
	return atomicfile.WriteFile(p, append(b, '\n'), 0o600)
}

// ClearSent is Clear for a process that is not the daemon: `rollback` and
// `restore` call it once they succeeded, under the state lock (so no
// daemon runs and writes the record meanwhile), to end the hourly
// rollback_failed. It reports whether stateDir's record held kind.
func ClearSent(stateDir, kind string) (bool, error) {
	p := filepath.Join(stateDir, SentFile)
	recs, err := readSent(p)
	if err != nil {
		return false, fmt.Errorf("%s: %w", p, err)
	}
	keep := recs[:0]
	for _, r := range recs {
		if r.Kind != kind {
			keep = append(keep, r)
		}
	}
	if len(keep) == len(recs) {
		return false, nil
	}
	if err := writeSent(p, keep); err != nil {
		return false, err
	}
	return true, nil
}

func (n *Notifier) saveLocked() {
	p := n.path()
	if p == "" {
		return
	}
	recs := make([]sentRecord, 0, len(n.sent))
	for _, r := range n.sent {
		recs = append(recs, r)
	}
	if err := writeSent(p, recs); err != nil {
		n.o.Logger.Warn("cannot record sent notification", "path", p, "err", err)
	}
}
