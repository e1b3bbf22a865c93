package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Codes of a requested target (`upgrade --to`) only; a plan never holds a
// release for these, so they are not in Codes().
const (
	CodeNotListed  = "not_listed"   // the release source does not list it
	CodeNotNextHop = "not_next_hop" // allowed, but the sequential path reaches it only after other hops
	CodeNotNewer   = "not_newer"    // at or below the installed version (or that version is unknown)
)

// Refusal is one rule that refuses a requested target.
type Refusal struct {
	Code   string // a Code* constant
	Reason string // in words
	// Key is the config key (or, for failed_here, the state file) that
	// decides the rule: where the admin changes it.
	Key string
	// Hard is true when no override (`upgrade --force`) may lift it: the
	// install cannot take the release, the release failed here (deleting its
	// bad-versions line is the deliberate way back), or it is no upgrade.
	Hard bool
	// Until is when a too_new release becomes old enough.
	Until time.Time
}

// Verdict is the policy's answer to "may target be installed now, from
// current?", the question `upgrade --to` asks. It is empty of refusals only
// when target is allowed and is the next hop of the plan the daemon itself
// would make with target as its upper bound.
type Verdict struct {
	Current, Target version.V
	// Path is the route from Current towards Target as if Target itself
	// were allowed (its own rules are in Refusals): the hops the daemon's
	// plan takes, ending at Target unless the path is blocked before it.
	Path []version.V
	// First is the hop to install first when Target is not the next hop
	// (the zero version when there is none).
	First    version.V
	Refusals []Refusal
}

// OK reports whether target may be installed now without an override.
func (v Verdict) OK() bool { return len(v.Refusals) == 0 }

// Hard returns the refusals no override lifts.
func (v Verdict) Hard() []Refusal {
	var out []Refusal
	for _, r := range v.Refusals {
		if r.Hard {
			out = append(out, r)
		}
	}
	return out
}

// Judge says whether target may be installed next from current over cands
// under p at time now: every rule of the table in docs/policy.md applied to
// target, that the source lists it, and that the sequential path reaches it
// in one hop. It plans exactly as Make does with p.Upto = target, so a
// target Judge accepts is the first hop Make would install.
func Judge(current version.V, cands []Candidate, p Policy, now time.Time, target version.V) Verdict {
	v := Verdict{Current: current, Target: target, Path: []version.V{}}
	if current.IsZero() || !current.Less(target) {
		why := fmt.Sprintf("%s is installed: %s is no upgrade (downgrades are done with twenty-upgraded rollback)", current, target)
		if current.IsZero() {
			why = "the installed version is unknown: nothing can be judged (twenty-upgraded status shows what was read)"
		}
		v.Refusals = []Refusal{{Code: CodeNotNewer, Reason: why, Hard: true}}
		return v
	}
	p.Upto = target
	newer := []Candidate{}
	c, listed := Candidate{Version: target}, false
	for _, x := range normalize(cands) {
		if x.Version == target {
			c, listed = x, true
		}
		if current.Less(x.Version) {
			newer = append(newer, x)
		}
	}
	if !listed {
		v.Refusals = append(v.Refusals, Refusal{Code: CodeNotListed, Key: "release.source",
			Reason: "the release source does not list " + target.String()})
		i, _ := slices.BinarySearchFunc(newer, target, func(a Candidate, t version.V) int { return a.Version.Compare(t) })
		newer = slices.Insert(newer, i, c)
	}
	for _, o := range p.obstacles(c, current, now) {
		v.Refusals = append(v.Refusals, Refusal{Code: o.code, Reason: o.reason, Key: keyOf(o.code), Hard: hard(o.code), Until: o.until})
	}
	obs := make(map[version.V]int, len(newer))
	for _, x := range newer {
		obs[x.Version] = len(p.obstacles(x, current, now))
	}
	allowed := func(x version.V) bool { return x == target || obs[x] == 0 }
	r := route(current, newer, allowed, p.SequentialBelow)
	v.Path = append(v.Path, r.path...)
	switch i := slices.Index(r.path, target); {
	case i == 0:
	case i > 0:
		v.First = r.path[0]
		v.Refusals = append(v.Refusals, Refusal{Code: CodeNotNextHop, Key: keyOf(CodeNotNextHop),
			Reason: fmt.Sprintf("below %s Twenty must visit every minor in order: the path is %s (%d transactions); %s comes first",
				p.SequentialBelow, joinPath(current, r.path), len(r.path), v.First)})
	default:
		why := r.blocked
		if why == "" {
			why = "the path " + joinPath(current, r.path) + " does not reach it"
		}
		if len(r.path) > 0 {
			v.First = r.path[0]
		}
		v.Refusals = append(v.Refusals, Refusal{Code: CodePathBlocked, Key: keyOf(CodePathBlocked), Reason: why})
	}
	return v
}

// keyOf is where the admin changes the rule behind code.
func keyOf(code string) string {
	switch code {
	case CodeFailedHere:
		return "bad-versions"
	case CodeUnsupported:
		return "install.mode"
	case CodeSkipped:
		return "release.skip"
	case CodeOutsideConstraint:
		return "release.constraint"
	case CodeTooNew:
		return "release.min_age"
	case CodeNeedsApproval:
		return "release.track"
	case CodePathBlocked, CodeNotNextHop:
		return "release.sequential_below"
	case CodeNotListed:
		return "release.source"
	}
	return ""
}

// hard reports whether no override may lift code (see Refusal.Hard).
func hard(code string) bool {
	return code == CodeFailedHere || code == CodeUnsupported || code == CodeNotNewer
}

func joinPath(from version.V, path []version.V) string {
	s := []string{from.String()}
	for _, v := range path {
		s = append(s, v.String())
	}
	return strings.Join(s, " → ")
}
