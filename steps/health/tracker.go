package health

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Result is one check's answer in one round.
type Result struct {
	Check  string
	OK     bool
	Answer string // what it saw: status, body excerpt, version, output line
	Fatal  bool   // a failure no amount of waiting fixes (a failure line in the log)
	NotRun bool   // not run this round (upgrade_status waits for the others): not OK, but not judged either
}

// Tracker is the pure evaluation of rounds: every check must pass in every
// round for StableFor, within Timeout of Start; a fatal answer fails at once.
type Tracker struct {
	StableFor time.Duration
	Timeout   time.Duration
	Start     time.Time

	passingSince time.Time
	last         []Result
}

// Observe records one round at now. It returns done when the checks have all
// passed continuously for StableFor, or an *Error when a check was fatal or
// the timeout passed.
func (t *Tracker) Observe(now time.Time, rs []Result) (done bool, err error) {
	t.last = rs
	allOK := true
	for _, r := range rs {
		if r.Fatal {
			return false, &Error{Reason: "failed fast on check " + r.Check + " (no use waiting)", Failing: failing(rs)}
		}
		allOK = allOK && r.OK
	}
	if allOK {
		if t.passingSince.IsZero() {
			t.passingSince = now
		}
		if now.Sub(t.passingSince) >= t.StableFor {
			return true, nil
		}
	} else {
		t.passingSince = time.Time{} // continuously: one failing round restarts the clock
	}
	if now.Sub(t.Start) >= t.Timeout {
		reason := fmt.Sprintf("not healthy within %s", t.Timeout)
		if allOK {
			reason = fmt.Sprintf("passing for only %s of the %s required when the %s timeout ended", now.Sub(t.passingSince).Round(time.Second), t.StableFor, t.Timeout)
		}
		return false, &Error{Reason: reason, Failing: failing(rs)}
	}
	return false, nil
}

// PassingFor is how long every check has passed (0 when one fails).
func (t *Tracker) PassingFor(now time.Time) time.Duration {
	if t.passingSince.IsZero() {
		return 0
	}
	return now.Sub(t.passingSince)
}

func failing(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.OK || r.Fatal {
			out = append(out, r)
		}
	}
	return out
}

// Error names each failing check with its last answer and the last server
// log lines.
type Error struct {
	Reason  string
	Failing []Result
	LogTail []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("health gate failed: " + e.Reason)
	for _, r := range e.Failing {
		fmt.Fprintf(&b, "\n  %s: %s", r.Check, r.Answer)
	}
	if len(e.LogTail) > 0 {
		b.WriteString("\n  last server log lines:")
		for _, l := range e.LogTail {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// Judged is the failing checks that decided the verdict: after a fatal
// answer only the fatal ones (the others were cut short, e.g. a container
// still starting); otherwise those that were run (a check that waited for
// the others, NotRun, is left out unless nothing else failed).
func (e *Error) Judged() []Result {
	var fatal, run []Result
	for _, r := range e.Failing {
		if r.Fatal {
			fatal = append(fatal, r)
		}
		if !r.NotRun {
			run = append(run, r)
		}
	}
	switch {
	case len(fatal) > 0:
		return fatal
	case len(run) > 0:
		return run
	}
	return e.Failing
}

// LogLines is at most n of the last server log lines that matter: those
// that name an error, a failure or an exception, else simply the last ones.
func (e *Error) LogLines(n int) []string {
	return RelevantLines(e.LogTail, n)
}

// relevantRe marks a log line worth showing a person.
var relevantRe = regexp.MustCompile(`(?i)\b(error|errors|fail|failed|failure|fatal|exception|panic|unhealthy)\b`)

// RelevantLines keeps the last n lines of tail that match relevantRe (or a
// failure line); when none does, the last n lines. Blank lines are dropped.
func RelevantLines(tail []string, n int) []string {
	var hits, all []string
	for _, l := range tail {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		all = append(all, l)
		if relevantRe.MatchString(l) || isFailureLine(l) {
			hits = append(hits, l)
		}
	}
	out := all
	if len(hits) > 0 {
		out = hits
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

func isFailureLine(l string) bool {
	for _, f := range FailureLines {
		if strings.Contains(l, f) {
			return true
		}
	}
	return false
}
