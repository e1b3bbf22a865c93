package window

import (
	"fmt"
	"testing"
	"time"
)

var (
	fuzzZones = []string{"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"}
	// Instants near DST changes of those zones in 2026.
	fuzzBases = []time.Time{
		time.Date(2026, 3, 28, 22, 0, 0, 0, time.UTC), time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 8, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 4, 13, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	}
)

// FuzzWindow checks Open against a minute-by-minute oracle built on the
// schedule's own starts, and NextFit against Fits, for daily schedules in
// zones with DST changes (including Lord Howe's 30-minute one).
func FuzzWindow(f *testing.F) {
	f.Add(byte(30), uint32(1<<2), uint16(60), byte(1), byte(0), uint16(150), uint16(60))
	f.Add(byte(0), uint32(1<<3|1<<15), uint16(200), byte(2), byte(3), uint16(100), uint16(120))
	f.Add(byte(30), uint32(1<<1|1<<2), uint16(45), byte(4), byte(4), uint16(800), uint16(30))
	f.Fuzz(func(t *testing.T, minute byte, hours uint32, dMin uint16, zone, base byte, offMin, expMin uint16) {
		hourList := ""
		for h := range 24 {
			if hours&(1<<h) != 0 {
				hourList += fmt.Sprintf(",%d", h)
			}
		}
		if hourList == "" {
			return
		}
		spec := fmt.Sprintf("CRON_TZ=%s %d %s * * *", fuzzZones[int(zone)%len(fuzzZones)], minute%60, hourList[1:])
		d := time.Duration(dMin%(6*60)+1) * time.Minute
		w, err := New(spec, d)
		if err != nil {
			t.Fatalf("New(%q): %v", spec, err)
		}
		now := fuzzBases[int(base)%len(fuzzBases)].Add(time.Duration(offMin%(48*60)) * time.Minute).Add(17 * time.Second)
		isStart := func(s time.Time) bool { return w.Next(s.Add(-time.Second)).Equal(s) }
		openBF := func(x time.Time) bool {
			for s := x.Truncate(time.Minute); x.Sub(s) < d; s = s.Add(-time.Minute) {
				if isStart(s) {
					return true
				}
			}
			return false
		}
		open, closes := w.Open(now)
		if open != openBF(now) {
			t.Fatalf("%s for %s: Open(%s) = %v, oracle says %v", spec, d, now, open, !open)
		}
		if open {
			end := now.Truncate(time.Minute)
			for end.Sub(now) < 26*time.Hour && openBF(end) {
				end = end.Add(time.Minute)
			}
			if end.Sub(now) < 26*time.Hour && !closes.Equal(end) {
				t.Fatalf("%s for %s: Open(%s) closes %s, oracle %s", spec, d, now, closes, end)
			}
		}
		exp := time.Duration(expMin%(8*60)) * time.Minute
		at, ok := w.NextFit(now, exp)
		if !ok {
			return
		}
		if at.Before(now) || !w.Fits(at, exp) {
			t.Fatalf("%s for %s: NextFit(%s, %s) = %s, which does not fit", spec, d, now, exp, at)
		}
		if !at.Equal(now) && w.Fits(now, exp) {
			t.Fatalf("NextFit(%s) = %s, but it fits already", now, at)
		}
		for s, i := w.Next(now), 0; s.Before(at) && i < 200; s, i = w.Next(s), i+1 {
			if w.Fits(s, exp) {
				t.Fatalf("%s for %s: NextFit(%s, %s) = %s, but %s fits earlier", spec, d, now, exp, at, s)
			}
		}
	})
}

// BenchmarkOpenChained is the worst case of Open: a schedule whose
// occurrences never leave a gap, merged up to maxChain.
func BenchmarkOpenChained(b *testing.B) {
	w, _ := New("CRON_TZ=UTC * * * * *", 2*time.Minute)
	for b.Loop() {
		w.Open(fuzzBases[5])
	}
}

// BenchmarkNextFitDaily is the common case: a daily window, checked hourly.
func BenchmarkNextFitDaily(b *testing.B) {
	w, _ := New("CRON_TZ=Europe/Paris 30 2 * * *", 2*time.Hour)
	for b.Loop() {
		w.NextFit(fuzzBases[5], 90*time.Minute)
	}
}
