package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
)

// Notify is a systemd notify socket: a unixgram listener that records every
// datagram the daemon sends (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1).
type Notify struct {
	Path string
	dir  string
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []NotifyMsg
	done chan struct{}
}

// NotifyMsg is one line of one datagram, with when it arrived.
type NotifyMsg struct {
	At   time.Time
	Text string // e.g. "READY=1" or "STATUS=upgrading v1.22.0 → v1.22.4: backup"
}

// ListenNotify opens a socket in a short temporary folder (socket paths are
// limited to 108 bytes, test folders can be longer).
func ListenNotify() (*Notify, error) {
	dir, err := os.MkdirTemp("", "tu-notify-")
	if err != nil {
		return nil, err
	}
	n, err := ListenNotifyAt(filepath.Join(dir, "notify.sock"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	n.dir = dir
	return n, nil
}

// ListenNotifyAt opens the socket at path (Close removes it): for a daemon
// that sees the folder under another name, as in a Box.
func ListenNotifyAt(path string) (*Notify, error) {
	n := &Notify{Path: path, done: make(chan struct{})}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.Path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("listen on notify socket: %w", err)
	}
	n.conn = conn
	go n.read()
	return n, nil
}

func (n *Notify) read() {
	defer close(n.done)
	buf := make([]byte, 4096)
	for {
		k, err := n.conn.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		n.mu.Lock()
		for _, line := range strings.Split(strings.TrimSpace(string(buf[:k])), "\n") {
			n.msgs = append(n.msgs, NotifyMsg{At: now, Text: line})
		}
		n.mu.Unlock()
	}
}

// Messages returns every line received so far, in order.
func (n *Notify) Messages() []NotifyMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.msgs)
}

// Texts returns the lines received so far, without WATCHDOG=1 pings.
func (n *Notify) Texts() []string {
	var out []string
	for _, m := range n.Messages() {
		if m.Text != "WATCHDOG=1" {
			out = append(out, m.Text)
		}
	}
	return out
}

// Index is the position of the first line at or after from that starts
// with prefix, or -1.
func (n *Notify) Index(from int, prefix string) int {
	texts := n.Texts()
	for i := max(from, 0); i < len(texts); i++ {
		if strings.HasPrefix(texts[i], prefix) {
			return i
		}
	}
	return -1
}

// Wait waits until a line starting with prefix has arrived.
func (n *Notify) Wait(ctx context.Context, prefix string) error {
	for n.Index(0, prefix) < 0 {
		if err := clock.Sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("no %q on the notify socket (got %q): %w", prefix, n.Texts(), err)
		}
	}
	return nil
}

// Reset forgets the lines received so far (between daemon runs).
func (n *Notify) Reset() {
	n.mu.Lock()
	n.msgs = nil
	n.mu.Unlock()
}

// Close stops listening and removes the socket.
func (n *Notify) Close() error {
	err := n.conn.Close()
	<-n.done
	if n.dir == "" {
		return errors.Join(err, os.Remove(n.Path))
	}
	return errors.Join(err, os.RemoveAll(n.dir))
}

func sortStrings(s []string) { sort.Strings(s) }
