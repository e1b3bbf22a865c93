// Package window is the maintenance window: a cron schedule whose every
// start opens the window for a fixed duration.
//
// It is pure time arithmetic over robfig/cron/v3 schedules (parsed with
// ParseSchedule: five fields or a descriptor such as @daily, optionally
// prefixed with CRON_TZ=Zone); callers pass the time in.
//
// Occurrences that overlap or touch (a start at or before the previous
// occurrence's end) form one continuous window: "closes" is the end of that
// whole stretch. Daylight-saving changes follow robfig: a start in the hour
// skipped in spring does not happen that day, and a start in the hour
// repeated in autumn happens twice (docs/policy.md shows both).
package window

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// maxChain bounds how many touching occurrences are merged when looking for
// where a window closes; a schedule that never leaves a gap (every hour for
// two hours) reports a close this many occurrences ahead: a lower bound.
const maxChain = 10_000

// horizon bounds how far NextFit looks ahead.
const horizon = 366 * 24 * time.Hour

// Window is a schedule plus a duration. The zero Window is never open.
type Window struct {
	spec  string
	sched cron.Schedule
	d     time.Duration
}

// New parses schedule with ParseSchedule. The duration must be positive.
// "@every" schedules are refused: they are not anchored to the clock, so
// they name no time of day for a window.
func New(schedule string, d time.Duration) (Window, error) {
	if d <= 0 {
		return Window{}, fmt.Errorf("window.duration: must be positive, got %s", d)
	}
	s, err := ParseSchedule(schedule)
	if err != nil {
		return Window{}, fmt.Errorf("window.schedule: %q: %w (five fields: minute hour day month weekday, optional CRON_TZ=Zone prefix)", schedule, err)
	}
	if _, ok := s.(*cron.SpecSchedule); !ok {
		return Window{}, fmt.Errorf("window.schedule: %q: %w", schedule, errEvery)
	}
	return Window{spec: schedule, sched: s, d: d}, nil
}

var errEvery = errors.New("@every is relative to when the daemon started; use a time of day such as \"0 3 * * *\" or @daily")

// Duration is how long each occurrence stays open.
func (w Window) Duration() time.Duration { return w.d }

// String is the schedule and duration, e.g. "CRON_TZ=UTC 0 3 * * * for 2h0m0s".
func (w Window) String() string { return w.spec + " for " + w.d.String() }

// Open reports whether t is inside the window: some start s has
// s <= t < s+duration. When open, closes is the end of the continuous
// stretch t is in (see maxChain for schedules without a gap).
func (w Window) Open(t time.Time) (open bool, closes time.Time) {
	return w.stretch(t, time.Time{})
}

// stretch is Open that stops merging occurrences once closes reaches enough
// (zero: merge up to maxChain).
func (w Window) stretch(t, enough time.Time) (bool, time.Time) {
	if w.sched == nil {
		return false, time.Time{}
	}
	// The first start after t-d is the earliest occurrence still open at t.
	s := w.next(t.Add(-w.d))
	if s.IsZero() || s.After(t) {
		return false, time.Time{}
	}
	end := s.Add(w.d)
	for range maxChain {
		if !enough.IsZero() && !end.Before(enough) {
			break
		}
		n := w.next(s)
		if n.IsZero() || n.After(end) {
			break
		}
		s = n
		if e := n.Add(w.d); e.After(end) {
			end = e
		}
	}
	return true, end
}

// Next is the first start strictly after t (robfig's Next), or the zero time
// when there is none within five years. It may fall inside a stretch that is
// already open when occurrences overlap.
func (w Window) Next(t time.Time) time.Time {
	if w.sched == nil {
		return time.Time{}
	}
	return w.next(t)
}

// Fits reports whether a transaction of the expected duration may start at
// t: the window is open and stays open for at least expected.
func (w Window) Fits(t time.Time, expected time.Duration) bool {
	need := t.Add(max(expected, 0))
	open, closes := w.stretch(t, need)
	return open && !closes.Before(need)
}

// NextFit is the earliest time at or after t at which a transaction of the
// expected duration fits: t itself, or a later start. ok is false when
// nothing fits within a year (expected longer than any stretch of the window,
// or a schedule that never fires).
func (w Window) NextFit(t time.Time, expected time.Duration) (at time.Time, ok bool) {
	if w.Fits(t, expected) {
		return t, true
	}
	from := t
	for range maxChain {
		// Within one stretch the time left only shrinks, so a stretch that
		// did not fit at its start is passed over whole.
		if open, closes := w.Open(from); open && closes.After(from) {
			from = closes
		}
		s := w.Next(from)
		if s.IsZero() || s.Sub(t) > horizon {
			return time.Time{}, false
		}
		if w.Fits(s, expected) {
			return s, true
		}
		from = s
	}
	return time.Time{}, false
}

// cronParser reads window.schedule: five fields (minute hour day-of-month
// month day-of-week), descriptors such as @daily, and an optional CRON_TZ= or
// TZ= prefix. Use ParseSchedule, never this directly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a window schedule. robfig/cron v3.0.1 panics on a
// zone prefix without a schedule after it ("CRON_TZ=" found by fuzzing), so the
// prefix is checked here first and any other panic becomes an error.
func ParseSchedule(s string) (sched cron.Schedule, err error) {
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			zone, spec, found := strings.Cut(rest, " ")
			if !found || zone == "" || strings.TrimSpace(spec) == "" {
				return nil, fmt.Errorf("%s must be followed by a zone name, a space and the schedule (e.g. CRON_TZ=Europe/Paris 0 3 * * 0)", prefix)
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cannot parse schedule: %v", r)
		}
	}()
	return cronParser.Parse(s)
}
