package window

import (
	"time"

	"github.com/robfig/cron/v3"
)

// next is robfig's Next made monotone across daylight-saving changes.
//
// robfig/cron v3.0.1 resolves local times with time.Date, which picks the
// first of two ambiguous instants; around a change it can pass over a start
// (found by FuzzWindow: with CRON_TZ=Australia/Lord_Howe, whose clocks go back
// 30 minutes, Next from just before 02:00 skipped that day's 02:19). When the
// zone's offset differs between shortly before t and robfig's answer, a
// change lies between them: ask again from points around the change and keep the earliest start
// after t. Outside DST changes this costs one extra offset comparison.
func (w Window) next(t time.Time) time.Time {
	n := w.sched.Next(t)
	if n.IsZero() {
		return n
	}
	spec, ok := w.sched.(*cron.SpecSchedule)
	if !ok || spec.Location == nil {
		return n
	}
	loc := spec.Location
	// robfig also errs when t is inside the repeated hour just after a
	// change, so look for a change from a few hours before t.
	from := t.Add(-3 * time.Hour)
	_, offT := from.In(loc).Zone()
	_, offN := n.In(loc).Zone()
	if offT == offN {
		return n
	}
	tr := transition(from, n, loc)
	// Minute by minute across the change (robfig is right when asked from
	// one second before a start), then the first start after t wins.
	m := t.Truncate(time.Minute).Add(time.Minute)
	if lo := tr.Add(-90 * time.Minute).Truncate(time.Minute); m.Before(lo) {
		m = lo
	}
	for end := tr.Add(90 * time.Minute); m.Before(end) && m.Before(n); m = m.Add(time.Minute) {
		if w.sched.Next(m.Add(-time.Second)).Equal(m) {
			return m
		}
	}
	return n
}

// transition finds, to the minute, the first instant after a whose offset in
// loc differs from a's (a and b have different offsets).
func transition(a, b time.Time, loc *time.Location) time.Time {
	_, off := a.In(loc).Zone()
	for b.Sub(a) > time.Minute {
		mid := a.Add(b.Sub(a) / 2)
		if _, o := mid.In(loc).Zone(); o == off {
			a = mid
		} else {
			b = mid
		}
	}
	return b
}
