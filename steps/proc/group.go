package proc

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// group is the process group of one running command. Its number is the
// leader's pid, and that number is ours only while the leader is unreaped:
// a zombie still holds it, a reaped pid can be handed to a stranger. So
// every signal to the group is sent under mu and only before reaped is set,
// and the leader is reaped only after reaped is set (Run waits for its exit
// with WNOWAIT first, then lets exec reap it).
type group struct {
	signal func(pid int, sig syscall.Signal) error
	grace  time.Duration

	mu     sync.Mutex
	pgid   int
	reaped bool
	termed bool // a cancel sent SIGTERM
	killed bool
	timer  *time.Timer
}

// terminate is the command's Cancel: SIGTERM to the group now, SIGKILL
// grace later if the leader has not exited by then.
func (g *group) terminate(pid int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reaped || g.termed {
		return
	}
	g.pgid, g.termed = pid, true
	_ = g.signal(-pid, syscall.SIGTERM)
	g.timer = time.AfterFunc(g.grace, g.kill)
}

// kill sends SIGKILL to the group once, while the leader is unreaped.
// Called with mu held or from the grace timer.
func (g *group) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.killLocked()
}

func (g *group) killLocked() {
	if g.reaped || g.killed || g.pgid == 0 {
		return
	}
	g.killed = true
	_ = g.signal(-g.pgid, syscall.SIGKILL)
}

// exited is called once the leader has exited and before it is reaped. For
// a cancelled command, what is left in its group (a grandchild that ignored
// SIGTERM) is killed now: this is the last moment the group number is
// provably ours, and after it the stragglers would be orphans. Then no
// signal is sent to the group again.
func (g *group) exited() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.termed {
		g.killLocked()
		g.timer.Stop()
	}
	g.reaped = true
}

// waitExit blocks until the process pid has exited, without reaping it.
func waitExit(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
