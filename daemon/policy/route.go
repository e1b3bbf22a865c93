package policy

import (
	"fmt"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// minor identifies a minor series, e.g. v1.20 for v1.20.x.
type minor struct{ major, minor int }

func minorOf(v version.V) minor { return minor{v.Major, v.Minor} }

func (m minor) less(o minor) bool {
	return m.major < o.major || (m.major == o.major && m.minor < o.minor)
}

func (m minor) String() string { return fmt.Sprintf("v%d.%d", m.major, m.minor) }

// routed is the outcome of route.
type routed struct {
	path     []version.V
	warnings []string
	// blocked, when not empty, says why the sequential path stops early: a
	// minor it must visit has no allowed release.
	blocked string
}

// route computes the hops from current through newer (ascending, all newer
// than current), using only versions allowed reports true for.
//
// Below floor (when set), each hop goes to the newest allowed patch of the
// next minor the source knows, across majors too (the last v0.x minor is
// followed by v1.0). Newer patches of the current minor are not a hop of
// their own: the installed version already visits that minor. When a minor
// on the way has releases but none allowed, the path stops before it; if it
// stops before any hop, the newest allowed patch of the current minor is
// still installed. At or above floor, one hop goes to the newest allowed
// release.
func route(current version.V, newer []Candidate, allowed func(version.V) bool, floor version.V) routed {
	var r routed
	last := current
	for !floor.IsZero() && last.Less(floor) {
		next, ok := nextMinor(newer, minorOf(last))
		if !ok {
			break
		}
		hop, ok := newestIn(newer, allowed, func(v version.V) bool { return minorOf(v) == next })
		if !ok {
			r.blocked = fmt.Sprintf("the sequential path (below %s) must go through %s first, and no %s.x release is allowed",
				floor, next, next)
			break
		}
		if w := missingMinors(last, hop); w != "" {
			r.warnings = append(r.warnings, w)
		}
		r.path = append(r.path, hop)
		last = hop
	}
	var in func(version.V) bool // which versions the final hop may go to
	switch {
	case r.blocked == "":
		in = func(v version.V) bool { return last.Less(v) }
	case len(r.path) == 0:
		in = func(v version.V) bool { return minorOf(v) == minorOf(current) }
	default:
		return r
	}
	if hop, ok := newestIn(newer, allowed, in); ok {
		r.path = append(r.path, hop)
	}
	return r
}

// nextMinor is the lowest minor above m that has any release in newer.
func nextMinor(newer []Candidate, m minor) (minor, bool) {
	for _, c := range newer {
		if m.less(minorOf(c.Version)) {
			return minorOf(c.Version), true
		}
	}
	return minor{}, false
}

// newestIn is the newest allowed version in newer for which in holds.
func newestIn(newer []Candidate, allowed, in func(version.V) bool) (version.V, bool) {
	for i := len(newer) - 1; i >= 0; i-- {
		if v := newer[i].Version; in(v) && allowed(v) {
			return v, true
		}
	}
	return version.V{}, false
}

// missingMinors warns when a sequential hop from a to b passes over minors
// the source does not list. Into a new major, its minors below b's are
// missing; how many minors a's major had is unknown, so that is not a warning.
func missingMinors(a, b version.V) string {
	var gone []string
	if a.Major == b.Major {
		gone = span(a.Minor+1, b.Minor-1, func(m int) string { return minor{a.Major, m}.String() })
	} else {
		gone = span(a.Major+1, b.Major-1, func(m int) string { return fmt.Sprintf("v%d.x", m) })
		gone = append(gone, span(0, b.Minor-1, func(m int) string { return minor{b.Major, m}.String() })...)
	}
	if len(gone) == 0 {
		return ""
	}
	return fmt.Sprintf("%s not in the release source: the path goes from %s straight to %s", strings.Join(gone, ", "), a, b)
}

// span names the numbers from lo to hi: each one when there are few, else
// the ends and the count.
func span(lo, hi int, name func(int) string) []string {
	switch n := hi - lo + 1; {
	case n <= 0:
		return nil
	case n <= 4:
		out := make([]string, 0, n)
		for i := lo; i <= hi; i++ {
			out = append(out, name(i))
		}
		return out
	default:
		return []string{fmt.Sprintf("%s … %s (%d)", name(lo), name(hi), n)}
	}
}
