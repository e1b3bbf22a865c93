package window

import (
	"strings"
	"testing"
	"time"
)

func mustNew(t *testing.T, spec string, d time.Duration) Window {
	t.Helper()
	w, err := New(spec, d)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		d          time.Duration
		want       string
	}{
		{"bad field", "0 25 * * *", time.Hour, `window.schedule: "0 25 * * *": `},
		{"six fields", "0 0 3 * * *", time.Hour, "five fields"},
		{"bad zone", "CRON_TZ=Mars/Olympus 0 3 * * *", time.Hour, "Mars/Olympus"},
		{"every", "@every 1h", time.Hour, "@every is relative"},
		{"zero duration", "0 3 * * *", 0, "window.duration: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.spec, tt.d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// probe is one question asked of a window: is it open at t, and until when.
type probe struct {
	t      string
	open   bool
	closes string
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name, spec string
		d          time.Duration
		probes     []probe
	}{
		{"daily UTC", "CRON_TZ=UTC 0 3 * * *", 2 * time.Hour, []probe{
			{"2026-06-01T02:59:59Z", false, ""},
			{"2026-06-01T03:00:00Z", true, "2026-06-01T05:00:00Z"},
			{"2026-06-01T04:59:59.999999999Z", true, "2026-06-01T05:00:00Z"},
			{"2026-06-01T05:00:00Z", false, ""},
		}},
		{"across midnight", "CRON_TZ=UTC 30 23 * * *", 2 * time.Hour, []probe{
			{"2026-06-01T23:29:00Z", false, ""},
			{"2026-06-01T23:45:00Z", true, "2026-06-02T01:30:00Z"},
			{"2026-06-02T00:45:00Z", true, "2026-06-02T01:30:00Z"},
			{"2026-06-02T01:30:00Z", false, ""},
		}},
		{"Paris Sundays, summer time", "CRON_TZ=Europe/Paris 0 3 * * 0", 2 * time.Hour, []probe{
			{"2026-06-07T00:59:00Z", false, ""},
			{"2026-06-07T01:00:00+00:00", true, "2026-06-07T03:00:00Z"},
			{"2026-06-07T04:00:00+02:00", true, "2026-06-07T03:00:00Z"},
			{"2026-06-08T01:30:00Z", false, ""}, // Monday
		}},
		{"Paris spring forward: 02:30 does not exist", "CRON_TZ=Europe/Paris 30 2 * * *", time.Hour, []probe{
			{"2026-03-28T01:45:00Z", true, "2026-03-28T02:30:00Z"}, // 02:45 CET the day before
			{"2026-03-29T00:45:00Z", false, ""},                    // 02:45 would-be CET: the clock jumped
			{"2026-03-29T01:15:00Z", false, ""},                    // 03:15 CEST
			{"2026-03-30T00:45:00Z", true, "2026-03-30T01:30:00Z"}, // 02:45 CEST the day after
		}},
		{"Paris fall back: 02:30 happens twice", "CRON_TZ=Europe/Paris 30 2 * * *", 30 * time.Minute, []probe{
			{"2026-10-25T00:45:00Z", true, "2026-10-25T01:00:00Z"}, // 02:45 CEST
			{"2026-10-25T01:15:00Z", false, ""},                    // 02:15 CET
			{"2026-10-25T01:45:00Z", true, "2026-10-25T02:00:00Z"}, // 02:45 CET
		}},
		{"Paris fall back: the two occurrences merge", "CRON_TZ=Europe/Paris 30 2 * * *", 2 * time.Hour, []probe{
			{"2026-10-25T00:45:00Z", true, "2026-10-25T03:30:00Z"},
			{"2026-10-25T03:29:00Z", true, "2026-10-25T03:30:00Z"},
			{"2026-10-25T03:30:00Z", false, ""},
		}},
		{"New York fall back: 01:30 twice", "CRON_TZ=America/New_York 30 1 * * *", 30 * time.Minute, []probe{
			{"2026-11-01T05:45:00Z", true, "2026-11-01T06:00:00Z"},
			{"2026-11-01T06:15:00Z", false, ""},
			{"2026-11-01T06:45:00Z", true, "2026-11-01T07:00:00Z"},
		}},
		{"New York spring forward: 01:30 still exists", "CRON_TZ=America/New_York 30 1 * * *", time.Hour, []probe{
			{"2026-03-08T06:45:00Z", true, "2026-03-08T07:30:00Z"}, // 01:45 EST; 03:30 EDT at the close
		}},
		{"duration longer than the period", "CRON_TZ=UTC 0 3 * * *", 36 * time.Hour, []probe{
			{"2026-06-01T02:00:00Z", true, ""}, // opened the day before; no gap ever
			{"2026-06-01T15:00:00Z", true, ""},
		}},
		{"touching occurrences", "CRON_TZ=UTC 0 */6 * * *", 6 * time.Hour, []probe{
			{"2026-06-01T05:59:00Z", true, ""},
		}},
		{"descriptor @daily in the caller's zone", "@daily", time.Hour, []probe{
			{"2026-06-01T00:30:00Z", true, "2026-06-01T01:00:00Z"},
			{"2026-06-01T00:30:00+02:00", true, "2026-06-01T01:00:00+02:00"},
			{"2026-06-01T01:30:00Z", false, ""},
		}},
		{"descriptor with a zone", "CRON_TZ=Europe/Paris @weekly", 3 * time.Hour, []probe{
			{"2026-06-06T23:30:00Z", true, "2026-06-07T01:00:00Z"}, // Sunday 01:30 Paris
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustNew(t, tt.spec, tt.d)
			for _, p := range tt.probes {
				open, closes := w.Open(at(p.t))
				if open != p.open {
					t.Errorf("Open(%s) = %v, want %v", p.t, open, p.open)
					continue
				}
				switch {
				case p.closes != "" && !closes.Equal(at(p.closes)):
					t.Errorf("Open(%s) closes %s, want %s", p.t, closes.UTC(), p.closes)
				case p.open && p.closes == "" && closes.Sub(at(p.t)) < 30*24*time.Hour:
					t.Errorf("Open(%s) closes %s, want no close within 30 days", p.t, closes.UTC())
				}
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct{ name, spec, t, want string }{
		{"strictly after a start", "CRON_TZ=UTC 0 3 * * *", "2026-06-01T03:00:00Z", "2026-06-02T03:00:00Z"},
		{"just before", "CRON_TZ=UTC 0 3 * * *", "2026-06-01T02:59:59.5Z", "2026-06-01T03:00:00Z"},
		{"spring forward skips a day", "CRON_TZ=Europe/Paris 30 2 * * *", "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z"},
		{"fall back repeats", "CRON_TZ=Europe/Paris 30 2 * * *", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
		{"never", "CRON_TZ=UTC 0 3 30 2 *", "2026-06-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustNew(t, tt.spec, time.Hour).Next(at(tt.t))
			if tt.want == "" && !got.IsZero() || tt.want != "" && !got.Equal(at(tt.want)) {
				t.Fatalf("Next(%s) = %v, want %q", tt.t, got, tt.want)
			}
		})
	}
	if !(Window{}).Next(at("2026-06-01T00:00:00Z")).IsZero() {
		t.Fatal("zero Window has a next start")
	}
	if open, _ := (Window{}).Open(at("2026-06-01T00:00:00Z")); open {
		t.Fatal("zero Window is open")
	}
}

func TestFitsAndNextFit(t *testing.T) {
	tests := []struct {
		name, spec string
		d          time.Duration
		t          string
		expected   time.Duration
		fits       bool
		next       string // "" = never
	}{
		{"fits at the start", "CRON_TZ=UTC 0 3 * * *", 2 * time.Hour, "2026-06-01T03:00:00Z", 2 * time.Hour, true, "2026-06-01T03:00:00Z"},
		{"too late today", "CRON_TZ=UTC 0 3 * * *", 2 * time.Hour, "2026-06-01T03:30:00Z", 2 * time.Hour, false, "2026-06-02T03:00:00Z"},
		{"later today", "CRON_TZ=UTC 0 3 * * *", 2 * time.Hour, "2026-06-01T01:00:00Z", time.Hour, false, "2026-06-01T03:00:00Z"},
		{"still fits late in the window", "CRON_TZ=UTC 0 3 * * *", 2 * time.Hour, "2026-06-01T04:00:00Z", time.Hour, true, "2026-06-01T04:00:00Z"},
		{"never fits", "CRON_TZ=UTC 0 3 * * *", time.Hour, "2026-06-01T01:00:00Z", 2 * time.Hour, false, ""},
		{"only the merged fall-back night fits", "CRON_TZ=Europe/Paris 30 2 * * *", 90 * time.Minute, "2026-10-20T12:00:00Z", 2 * time.Hour, false, "2026-10-25T00:30:00Z"},
		{"spring forward: the next day", "CRON_TZ=Europe/Paris 30 2 * * *", time.Hour, "2026-03-28T12:00:00Z", time.Hour, false, "2026-03-30T00:30:00Z"},
		{"overlapping occurrences", "CRON_TZ=UTC 0 * * * *", 90 * time.Minute, "2026-06-01T10:59:00Z", 10 * time.Hour, true, "2026-06-01T10:59:00Z"},
		{"gaps between short windows", "CRON_TZ=UTC 0 * * * *", 30 * time.Minute, "2026-06-01T10:45:00Z", 20 * time.Minute, false, "2026-06-01T11:00:00Z"},
		{"across midnight", "CRON_TZ=UTC 30 23 * * *", 2 * time.Hour, "2026-06-01T12:00:00Z", 2 * time.Hour, false, "2026-06-01T23:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustNew(t, tt.spec, tt.d)
			if got := w.Fits(at(tt.t), tt.expected); got != tt.fits {
				t.Errorf("Fits = %v, want %v", got, tt.fits)
			}
			got, ok := w.NextFit(at(tt.t), tt.expected)
			if tt.next == "" && ok || tt.next != "" && (!ok || !got.Equal(at(tt.next))) {
				t.Errorf("NextFit = %v %v, want %q", got.UTC(), ok, tt.next)
			}
		})
	}
}
