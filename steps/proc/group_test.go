package proc

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sigRec records every signal Exec sends, whether the group's leader was
// still our unreaped child at that moment, and sends it.
type sigRec struct {
	mu   sync.Mutex
	sigs []syscall.Signal
	lost []syscall.Signal // sent when the leader was no longer ours
}

func (r *sigRec) send(pid int, sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sigs = append(r.sigs, sig)
	if !ourChild(-pid) {
		r.lost = append(r.lost, sig)
		return nil // do not signal whoever has the number now
	}
	return syscall.Kill(pid, sig)
}

func (r *sigRec) got() (all, lost []syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sigs), slices.Clone(r.lost)
}

// ourChild: pid exists (running or a zombie) and its parent is this process.
func ourChild(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 1 && f[1] == strconv.Itoa(os.Getpid())
}

// A command that dies of SIGTERM is reaped; KillGrace later its group number
// may belong to a stranger: every signal must go while the leader is still
// our unreaped child, and none after Run returned.
func TestExecNoKillAfterReap(t *testing.T) {
	rec := &sigRec{}
	c := helper("hang")
	c.Timeout = 100 * time.Millisecond
	x := Exec{KillGrace: 300 * time.Millisecond, signal: rec.send}
	if _, err := x.Run(context.Background(), c); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	before, _ := rec.got()
	time.Sleep(3 * x.KillGrace)
	all, lost := rec.got()
	if len(lost) > 0 || len(all) != len(before) {
		t.Fatalf("signals %v, %v of them after the leader was reaped (%d after Run returned)", all, lost, len(all)-len(before))
	}
	if len(all) == 0 || all[0] != syscall.SIGTERM {
		t.Fatalf("signals %v, want SIGTERM first", all)
	}
}

// A command that ignores SIGTERM gets SIGKILL KillGrace later, while it is
// still ours.
func TestExecKillsWhatIgnoresTerm(t *testing.T) {
	rec := &sigRec{}
	c := helper("ignoreterm")
	c.Timeout = 300 * time.Millisecond
	x := Exec{KillGrace: 300 * time.Millisecond, signal: rec.send}
	start := time.Now()
	if _, err := x.Run(context.Background(), c); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if all, lost := rec.got(); !slices.Equal(all, []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}) || len(lost) > 0 {
		t.Fatalf("signals %v (after reaping: %v), want SIGTERM then SIGKILL", all, lost)
	}
}

// When the leader of a cancelled command exits, what is left of its group
// is killed at once, while the unreaped leader still holds the group number:
// no orphan survives, and Run does not wait out KillGrace for it.
func TestExecKillsStragglersOfACancelledGroup(t *testing.T) {
	rec := &sigRec{}
	c := helper("spawn")
	c.Timeout = 500 * time.Millisecond
	x := Exec{KillGrace: 5 * time.Second, signal: rec.send}
	start := time.Now()
	res, err := x.Run(context.Background(), c)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s: waited for the straggler instead of killing it", d)
	}
	m := regexp.MustCompile(`grandchild (\d+)`).FindSubmatch(res.Stderr)
	if m == nil {
		t.Fatalf("no grandchild pid in stderr %q", res.Stderr)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d outlived its cancelled group", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive: pid exists and is not a zombie waiting for its new parent.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := regexp.MustCompile(`\) (\S)`).FindStringSubmatch(s)
	return i == nil || i[1] != "Z"
}
