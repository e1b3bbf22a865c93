// Package policy decides which Twenty release to install next and through
// which path: the pure decision core behind `check`, `plan` and the daemon.
//
// Everything here is a function over values: the caller passes the installed
// version, the releases the source knows, the policy from the config and the
// bad-versions list, and the current time. Nothing reads a clock, a file or
// the network.
//
// Rules, in short (docs/policy.md explains them for admins):
//
//   - A release newer than the installed one is allowed when it did not fail
//     here, is not in release.skip, satisfies release.constraint, is at least
//     release.min_age old and is at most release.track away from the
//     installed version. Approval lifts only the track limit.
//   - Below release.sequential_below every minor is visited in order, each at
//     its newest allowed patch; at or above it, one hop to the newest allowed
//     release.
//   - Every newer release that is not taken and not merely passed over is
//     held, with a stable code and a reason in words.
package policy

import (
	"fmt"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Candidate is a release as the policy sees it. Callers convert from their own
// release type (daemon/release) so this package imports no other daemon code.
type Candidate struct {
	Version version.V
	// Published is when the release appeared; the zero time means unknown and
	// such a release counts as old enough (see docs/policy.md).
	Published time.Time
}

// Policy is the set of rules that filter candidates.
type Policy struct {
	// Track is the largest step (from the installed version) taken without
	// approval. StepNone means every upgrade needs approval.
	Track version.Step
	// Constraint must allow every version installed.
	Constraint version.Constraint
	// Skip lists versions never installed.
	Skip map[version.V]bool
	// MinAge is how long ago a release must have been published.
	MinAge time.Duration
	// SequentialBelow is the floor under which every minor is visited in
	// order; the zero version turns sequential paths off.
	SequentialBelow version.V
	// Bad maps versions that failed here to the reason.
	Bad map[version.V]string
	// Upto, when set, is the highest version considered (`upgrade --to`).
	Upto version.V
	// Unsupported, when set, says why a release cannot be installed here at
	// all (compose mode below the release whose image migrates by itself).
	Unsupported func(v version.V) string
}

// Held codes: stable snake_case values for JSON and the update_held metric.
const (
	CodeFailedHere        = "failed_here"        // in bad-versions
	CodeSkipped           = "skipped"            // in release.skip
	CodeOutsideConstraint = "outside_constraint" // release.constraint refuses it
	CodeAboveRequested    = "above_requested"    // newer than `upgrade --to`
	CodeTooNew            = "too_new"            // younger than release.min_age
	CodeNeedsApproval     = "needs_approval"     // a bigger step than release.track
	CodePathBlocked       = "path_blocked"       // allowed, but the sequential path cannot reach it yet
	CodeUnsupported       = "unsupported"        // this install cannot take it (a compose target whose image does not migrate)
)

// Codes lists every held code, for metrics that pre-create their series.
func Codes() []string {
	return []string{CodeFailedHere, CodeSkipped, CodeOutsideConstraint, CodeAboveRequested, CodeTooNew,
		CodeNeedsApproval, CodePathBlocked, CodeUnsupported}
}

// FromConfig builds a Policy from the [release] section as config.Load typed
// it (Release.Typed) and the bad-versions list (state.Store.BadVersions).
func FromConfig(r config.Release, bad map[version.V]string) Policy {
	if bad == nil {
		bad = map[version.V]string{}
	}
	t := r.Typed // parsed once, by config.Load
	return Policy{Track: t.Track, Constraint: t.Constraint, Skip: t.Skip, MinAge: r.MinAge, SequentialBelow: t.SequentialBelow, Bad: bad}
}

// Approved returns the policy as approval (`upgrade --yes`, POST
// /api/v1/approve) applies it: any step size, every other rule unchanged.
func (p Policy) Approved() Policy {
	p.Track = version.StepMajor
	return p
}

// obstacle is one rule that refuses a candidate.
type obstacle struct {
	code, reason string
	until        time.Time // for too_new: when it becomes old enough
}

// obstacles lists every rule that refuses c, most permanent first; an empty
// list means c is allowed.
func (p Policy) obstacles(c Candidate, current version.V, now time.Time) []obstacle {
	var out []obstacle
	v := c.Version
	if why, ok := p.Bad[v]; ok {
		r := "failed here before"
		if why != "" {
			r += ": " + why
		}
		out = append(out, obstacle{code: CodeFailedHere, reason: r})
	}
	if p.Unsupported != nil {
		if why := p.Unsupported(v); why != "" {
			out = append(out, obstacle{code: CodeUnsupported, reason: why})
		}
	}
	if p.Skip[v] {
		out = append(out, obstacle{code: CodeSkipped, reason: "skipped by config (release.skip)"})
	}
	if !p.Constraint.Allows(v) {
		out = append(out, obstacle{code: CodeOutsideConstraint, reason: "outside constraint " + p.Constraint.String()})
	}
	if !p.Upto.IsZero() && p.Upto.Less(v) {
		out = append(out, obstacle{code: CodeAboveRequested, reason: "above the requested target " + p.Upto.String()})
	}
	if o, ok := p.tooNew(c, now); ok {
		out = append(out, o)
	}
	if step := current.StepTo(v); step > p.Track {
		out = append(out, obstacle{code: CodeNeedsApproval,
			reason: fmt.Sprintf("%s upgrade needs approval (track = %s)", step, p.Track)})
	}
	return out
}

func (p Policy) tooNew(c Candidate, now time.Time) (obstacle, bool) {
	if p.MinAge <= 0 || c.Published.IsZero() {
		return obstacle{}, false
	}
	age := now.Sub(c.Published)
	if age >= p.MinAge {
		return obstacle{}, false
	}
	o := obstacle{code: CodeTooNew, until: c.Published.Add(p.MinAge)}
	if age < 0 {
		o.reason = fmt.Sprintf("too new: release time is %s in the future (clock skew?), min_age %s", human(-age), compact(p.MinAge))
	} else {
		o.reason = fmt.Sprintf("too new: released %s ago, min_age %s", human(age), compact(p.MinAge))
	}
	return o, true
}

// human rounds a duration down to a readable unit: "5h", "12m", "40s".
func human(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// compact prints a configured duration without zero tails: "48h", "1h30m".
func compact(d time.Duration) string {
	s := d.String()
	for _, tail := range []string{"0s", "0m"} {
		if len(s) > len(tail) && s[len(s)-len(tail):] == tail && s[len(s)-len(tail)-1] >= 'a' {
			s = s[:len(s)-len(tail)]
		}
	}
	return s
}
