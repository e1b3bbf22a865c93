package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pendingHashes are the sha256 sums being computed for one Create.
type pendingHashes struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	sums map[string]File
	errs []error
}

// writeFile creates dir/name (0600) from fill and fsyncs it; its size and
// sha256 are computed in the background (joined by hashed) while the other
// files are written. It may be called from several goroutines at once. fill gets the *os.File itself, so a command's output goes
// straight to the file: os/exec hands the child the descriptor, nothing is
// copied through this process or held in memory (measured: hashing inside
// the pipe slowed a dump by half on two cores).
func (m *Manager) writeFile(dir, name, step string, fill func(io.Writer) error) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	m.report(Progress{Step: step})
	stop := m.watchSize(f, step)
	stopFlush := flushEarly(f)
	err = fill(f)
	stopFlush()
	stop()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	h := &m.pending
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		sum, size, err := hashFile(path)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.errs = append(h.errs, err)
			return
		}
		if h.sums == nil {
			h.sums = map[string]File{}
		}
		h.sums[name] = File{Name: name, Size: size, SHA256: sum}
		m.report(Progress{Step: step, Bytes: size, Done: true})
	}()
	return nil
}

// hashed waits for the background hashes and returns the files written,
// in the order of names (names never written are left out).
func (m *Manager) hashed(names []string) ([]File, error) {
	h := &m.pending
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() { h.sums, h.errs = nil, nil }()
	if len(h.errs) > 0 {
		return nil, errors.Join(h.errs...)
	}
	files := make([]File, 0, len(h.sums))
	for _, n := range names {
		if f, ok := h.sums[n]; ok {
			files = append(files, f)
		}
	}
	if len(files) != len(h.sums) {
		return nil, fmt.Errorf("internal error: %d files written, %d of them named in the set's order", len(h.sums), len(files))
	}
	return files, nil
}

// wait lets the background hashes finish and forgets them (a failed Create).
func (h *pendingHashes) wait() {
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sums, h.errs = nil, nil
}

// flushEarly starts the writeback of f's pages while it is being written
// (sync_file_range SYNC_FILE_RANGE_WRITE on every flushChunk that was
// added), so the fsync at its end has little left to write: measured on a
// 538 MiB dump, that fsync alone took 1.1 s after the dump. It only starts
// writeback; the fsync is what makes the file durable.
func flushEarly(f *os.File) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var flushed int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
				info, err := f.Stat()
				if err != nil {
					return
				}
				if n := info.Size() - flushed; n >= flushChunk {
					if unix.SyncFileRange(int(f.Fd()), flushed, n, unix.SYNC_FILE_RANGE_WRITE) != nil {
						return // not supported here: the fsync does it all
					}
					flushed += n
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// flushChunk is how much a file must grow before flushEarly starts its
// writeback (small files are left to the fsync).
const flushChunk = 8 << 20

// watchSize reports the growing size of f every half second until stopped.
func (m *Manager) watchSize(f *os.File, step string) (stop func()) {
	if m.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if info, err := f.Stat(); err == nil {
					m.report(Progress{Step: step, Bytes: info.Size()})
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
