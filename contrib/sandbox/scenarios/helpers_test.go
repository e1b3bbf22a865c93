package scenarios

import (
	"context"
	"fmt"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// bin is the real twenty-upgraded binary, built once in TestMain.
var bin string

func TestMain(m *testing.M) {
	if sandbox.Available() == "" {
		dir, err := os.MkdirTemp("", "twenty-upgraded-scenarios-")
		if err == nil {
			start := time.Now()
			bin, err = BuildBinary(context.Background(), dir)
			fmt.Fprintf(os.Stderr, "scenarios: built %s in %s\n", bin, time.Since(start).Round(time.Millisecond))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "scenarios:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if bin != "" {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// scenario is one daemon configuration on a shared stack: its folders, its
// notify socket, its log, and the daemon process (restartable).
type scenario struct {
	t   *testing.T
	s   *sandbox.Stack
	su  *Setup
	n   *Notify
	d   *Daemon
	log *os.File
	box *Box // run under the unit's sandbox when set
}

func begin(t *testing.T, s *sandbox.Stack, o ConfigOptions) *scenario {
	t.Helper()
	su, err := NewSetup(s, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ListenNotify()
	if err != nil {
		t.Fatal(err)
	}
	return newScenario(t, s, su, n, nil)
}

// beginBox is begin for a daemon run under its unit's sandbox.
func beginBox(t *testing.T, s *sandbox.Stack, box *Box) *scenario {
	t.Helper()
	host, _ := box.NotifySocket()
	n, err := ListenNotifyAt(host)
	if err != nil {
		t.Fatal(err)
	}
	return newScenario(t, s, box.Setup, n, box)
}

func newScenario(t *testing.T, s *sandbox.Stack, su *Setup, n *Notify, box *Box) *scenario {
	t.Helper()
	log, err := os.Create(filepath.Join(su.Root, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenario{t: t, s: s, su: su, n: n, log: log, box: box}
	t.Cleanup(func() {
		if sc.d != nil {
			select {
			case <-sc.d.Exited():
			default:
				_ = sc.d.Stop(30 * time.Second)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("daemon log (tail):\n%s", tail(string(b), 60))
			t.Logf("notify: %q", n.Texts())
		}
		log.Close()
		n.Close()
	})
	return sc
}

// start runs the daemon (env adds e.g. fault injection) and waits for
// /-/ready, which the daemon answers only after any resume.
func (sc *scenario) start(env ...string) {
	sc.t.Helper()
	fmt.Fprintf(sc.log, "----- daemon start %s %q\n", time.Now().Format(time.RFC3339), env)
	var d *Daemon
	var err error
	if sc.box != nil {
		_, inside := sc.box.NotifySocket()
		d, err = StartDaemonCmd(sc.box.Command(append(env, "NOTIFY_SOCKET="+inside), "run"), sc.su, sc.log)
	} else {
		d, err = StartDaemon(bin, sc.su, sc.n.Path, sc.log, env...)
	}
	if err != nil {
		sc.t.Fatal(err)
	}
	sc.d = d
}

func (sc *scenario) waitReady() {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testreq.Timeout(5*time.Minute))
	defer cancel()
	if err := sc.d.WaitReady(ctx); err != nil {
		sc.t.Fatal(err)
	}
}

// stop is `systemctl stop`: SIGTERM, exit 0, STOPPING=1 on the socket.
func (sc *scenario) stop() {
	sc.t.Helper()
	if err := sc.d.Stop(60 * time.Second); err != nil {
		sc.t.Errorf("daemon stop: %v", err)
	}
	if sc.n.Index(0, "STOPPING=1") < 0 {
		sc.t.Errorf("no STOPPING=1 on the notify socket: %q", sc.n.Texts())
	}
}

// waitStatus waits up to limit for cond on GET /api/v1/status.
func (sc *scenario) waitStatus(limit time.Duration, what string, cond func(daemon.Status) bool) daemon.Status {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testreq.Timeout(limit))
	defer cancel()
	st, err := sc.d.WaitStatus(ctx, what, cond)
	if err != nil {
		sc.t.Fatal(err)
	}
	return st
}

// waitResult waits until the last history entry is a transaction to `to`.
func (sc *scenario) waitResult(limit time.Duration, to string) state.Entry {
	sc.t.Helper()
	st := sc.waitStatus(limit, "a transaction to "+to+" to finish", func(st daemon.Status) bool {
		return st.LastResult != nil && st.LastResult.To.String() == to && st.Transaction == nil && st.State == daemon.StateIdle
	})
	return *st.LastResult
}

// checked waits for a check that finished after since.
func (sc *scenario) checked(since time.Time) daemon.Status {
	sc.t.Helper()
	return sc.waitStatus(time.Minute, "a release check", func(st daemon.Status) bool {
		return st.LastCheck != nil && st.LastCheck.After(since) && st.State == daemon.StateIdle
	})
}

func (sc *scenario) metrics() Metrics {
	sc.t.Helper()
	m, err := sc.d.Metrics(context.Background())
	if err != nil {
		sc.t.Fatal(err)
	}
	return m
}

func (sc *scenario) history() []state.Entry {
	sc.t.Helper()
	st, err := state.Open(sc.su.StateDir)
	if err != nil {
		sc.t.Fatal(err)
	}
	h, err := st.History()
	if err != nil {
		sc.t.Fatal(err)
	}
	return h
}

// wantMetric asserts one series' value.
func wantMetric(t *testing.T, m Metrics, want float64, name string, labels ...string) {
	t.Helper()
	if v, ok := m.Get(name, labels...); !ok || v != want {
		t.Errorf("%s%v = %v (present %t), want %v", name, labels, v, ok, want)
	}
}

// intact checks Twenty is healthy on want with every sentinel row and file.
func intact(t *testing.T, s *sandbox.Stack, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Check(ctx, want); err != nil {
		t.Errorf("Twenty not healthy on %s: %v", want, err)
	}
	if err := s.CheckSentinels(ctx); err != nil {
		t.Errorf("sentinels: %v", err)
	}
	if tag, err := s.Tag(); err != nil || tag != want {
		t.Errorf(".env TAG=%s (%v), want %s", tag, err, want)
	}
}

// checksums are the database and files checksums of the stack.
func checksums(t *testing.T, s *sandbox.Stack) [2]string {
	t.Helper()
	ctx := context.Background()
	db, err := s.DBChecksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := s.FilesChecksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return [2]string{db, files}
}

// statusLines are the STATUS= texts, for asserting the steps were shown.
func statusLines(n *Notify) []string {
	var out []string
	for _, l := range n.Texts() {
		if s, ok := strings.CutPrefix(l, "STATUS="); ok {
			out = append(out, s)
		}
	}
	return out
}

// wantStatusSteps asserts STATUS= lines named each step of a transaction
// from → to (verb: "upgrading" or "rolling back").
func wantStatusSteps(t *testing.T, n *Notify, verb, from, to string, steps ...string) {
	t.Helper()
	lines := statusLines(n)
	for _, step := range steps {
		want := fmt.Sprintf("%s %s → %s: %s", verb, from, to, step)
		if !slices.Contains(lines, want) {
			t.Errorf("no STATUS=%q among %q", want, lines)
		}
	}
}

// readyBefore asserts READY=1 came before the first line starting with prefix.
func readyBefore(t *testing.T, n *Notify, prefix string) {
	t.Helper()
	r, p := n.Index(0, "READY=1"), n.Index(0, prefix)
	if r < 0 || p < 0 || r > p {
		t.Errorf("want READY=1 before %q on the notify socket, got %q", prefix, n.Texts())
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// timed logs how long a part took (the scenario timings in the report).
func timed(t *testing.T, what string) func() {
	start := time.Now()
	return func() { t.Logf("timing: %s took %.1fs", what, time.Since(start).Seconds()) }
}
