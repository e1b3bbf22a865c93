package daemon

import (
	"context"
	"strconv"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// SystemdNotifier sends to $NOTIFY_SOCKET; without it every call is a no-op.
type SystemdNotifier struct{}

// Notify sends one sd_notify message.
func (SystemdNotifier) Notify(state string) error {
	_, err := sd.SdNotify(false, state)
	return err
}

// timing holds the loop's internal periods; tests shorten them.
type timing struct {
	tick         time.Duration // the idle loop wakes this often to prove it is alive
	checkTimeout time.Duration // one release check may take this long
	slack        time.Duration // added to every heartbeat budget
	retryMin     time.Duration // first back-off after a failed check
	retryMax     time.Duration // back-off cap
	extendEvery  time.Duration // EXTEND_TIMEOUT_USEC period while stopping
	jitter       float64       // fraction of check_interval added at random
	watchdog     time.Duration // 0: read WATCHDOG_USEC
}

func defaultTiming() timing {
	return timing{
		tick:         10 * time.Second,
		checkTimeout: 5 * time.Minute,
		slack:        time.Minute,
		retryMin:     time.Minute,
		retryMax:     time.Hour,
		extendEvery:  10 * time.Second,
		jitter:       0.1,
	}
}

// heartbeat is the loop's proof of life: each beat says "I am alive now and
// will beat again within budget". The budget depends on what the loop does
// next: a tick while idle, the check timeout while checking, the longest
// step timeout while a transaction runs (every engine Observer call beats).
// A loop that misses its own deadline is wedged: the watchdog stops pinging,
// /-/healthy and /-/ready fail, and systemd restarts the daemon.
type heartbeat struct {
	mu       sync.Mutex
	deadline time.Time
}

func (h *heartbeat) beat(budget time.Duration) {
	h.mu.Lock()
	h.deadline = time.Now().Add(budget)
	h.mu.Unlock()
}

// alive reports whether the last beat's deadline has not passed. Before the
// first beat the loop counts as alive (it is starting).
func (h *heartbeat) alive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deadline.IsZero() || time.Now().Before(h.deadline)
}

// watchdog pings WATCHDOG=1 at half the interval systemd asked for, only
// while the loop is alive. It returns when ctx ends.
func (d *Daemon) watchdog(ctx context.Context) {
	interval := d.timing.watchdog
	if interval == 0 {
		var err error
		interval, err = sd.SdWatchdogEnabled(false)
		if err != nil {
			d.log.Warn("watchdog settings unreadable", "err", err)
			return
		}
	}
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d.beat.alive() {
				d.send(sd.SdNotifyWatchdog)
			} else {
				d.log.Error("main loop missed its heartbeat; not pinging the watchdog")
			}
		}
	}
}

// send delivers one notify message; failures are logged, never fatal.
func (d *Daemon) send(msg string) {
	if err := d.notify.Notify(msg); err != nil {
		d.log.Warn("sd_notify failed", "err", err, "message", msg)
	}
}

// setStatus sends STATUS= when the text changed.
func (d *Daemon) setStatus(text string) {
	d.mu.Lock()
	changed := d.st.status != text
	d.st.status = text
	d.mu.Unlock()
	if changed {
		d.send("STATUS=" + text)
	}
}

// extendTimeout asks systemd for more stop time.
func (d *Daemon) extendTimeout(by time.Duration) {
	d.send("EXTEND_TIMEOUT_USEC=" + strconv.FormatInt(by.Microseconds(), 10))
}
