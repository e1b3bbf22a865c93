package state

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is matched by the error Lock returns when another process holds
// the lock; the CLI maps it to exit code 75.
var ErrLocked = errors.New("lock held by another run")

// LockedError names who holds the lock.
type LockedError struct {
	Path   string
	Holder string // what the holder wrote: pid, command, since
}

func (e *LockedError) Error() string {
	h := e.Holder
	if h == "" {
		h = "unknown holder"
	}
	return fmt.Sprintf("%s is held by %s; wait for it to finish (or stop the daemon: systemctl stop twenty-upgraded)", e.Path, h)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held flock on state_dir/lock.
type Lock struct {
	f *os.File
}

// Lock takes the lock without waiting. what describes the holder ("daemon",
// "upgrade --to v2.1.0") and is written into the file for the loser's message.
// The kernel releases an flock when its process dies, even by kill -9, so a
// stale lock cannot outlive a crash.
func (s *Store) Lock(what string) (*Lock, error) {
	p := s.path("lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: p, Holder: strings.TrimSpace(string(holder))}
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d (%s) since %s\n", os.Getpid(), what, time.Now().UTC().Format(time.RFC3339))), 0)
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}
