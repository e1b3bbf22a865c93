package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Plan is the decision for one installed version. Slices are never nil so the
// JSON keys are always present ("path": [] when there is nothing to do).
type Plan struct {
	Current version.V `json:"current"`
	// Newest is the newest release the source knows, allowed or not.
	Newest version.V `json:"newest"`
	// Target is the last hop of Path; the zero version (JSON "") when there
	// is nothing to install.
	Target version.V `json:"target"`
	// Path lists the versions to install in order, one transaction each.
	Path []version.V `json:"path"`
	// Held explains every newer release that is neither on the path nor
	// passed over on the way to a newer one; ascending by version.
	Held     []Held   `json:"held"`
	Warnings []string `json:"warnings"`
	// Approval is what approval would unlock; nil when it changes nothing.
	Approval *Unlock `json:"approval,omitempty"`
}

// Held is a release that is not installed, with why.
type Held struct {
	Version version.V `json:"version"`
	// Code is the main obstacle, one of the Code* constants.
	Code string `json:"code"`
	// Reason gives every obstacle in words, joined with "; ".
	Reason string `json:"reason"`
	// Approvable is true when approval alone would lift the hold: the
	// approved plan (Plan.Approval) installs this release or passes over it.
	Approvable bool `json:"approvable"`
	// Until is when a too_new release becomes old enough.
	Until time.Time `json:"until,omitzero"`
}

// Unlock is the target and path approval would allow.
type Unlock struct {
	Target version.V   `json:"target"`
	Path   []version.V `json:"path"`
}

// Next returns the first hop, if any.
func (p Plan) Next() (version.V, bool) {
	if len(p.Path) == 0 {
		return version.V{}, false
	}
	return p.Path[0], true
}

// Make plans the upgrade from current over cands under p at time now.
//
// Releases at or below current are ignored (never a downgrade, never held).
// With an unknown (zero) current version there is no plan: Path is empty and
// a warning says why.
func Make(current version.V, cands []Candidate, p Policy, now time.Time) Plan {
	plan := decide(current, cands, p, now)
	if current.IsZero() || p.Track >= version.StepMajor {
		return plan
	}
	if ap := decide(current, cands, p.Approved(), now); ap.Target != plan.Target {
		plan.Approval = &Unlock{Target: ap.Target, Path: ap.Path}
	}
	// Approvable means approval would install the release or pass over it; a
	// release beyond a blocked sequential path stays held after approval.
	for i, h := range plan.Held {
		if h.Approvable && (plan.Approval == nil || plan.Approval.Target.Less(h.Version)) {
			plan.Held[i].Approvable = false
		}
	}
	return plan
}

func decide(current version.V, cands []Candidate, p Policy, now time.Time) Plan {
	plan := Plan{Current: current, Path: []version.V{}, Held: []Held{}, Warnings: []string{}}
	cs := normalize(cands)
	if len(cs) > 0 {
		plan.Newest = cs[len(cs)-1].Version
	}
	if current.IsZero() {
		plan.Warnings = append(plan.Warnings, "installed version unknown: no plan (detect the running version first)")
		return plan
	}
	newer := cs[:0:0]
	obs := map[version.V][]obstacle{}
	for _, c := range cs {
		if current.Less(c.Version) {
			newer = append(newer, c)
			obs[c.Version] = p.obstacles(c, current, now)
		}
	}
	allowed := func(v version.V) bool { return len(obs[v]) == 0 }
	r := route(current, newer, allowed, p.SequentialBelow)
	plan.Path = append(plan.Path, r.path...)
	plan.Warnings = append(plan.Warnings, r.warnings...)
	last := current
	if n := len(plan.Path); n > 0 {
		last, plan.Target = plan.Path[n-1], plan.Path[n-1]
	}
	onPath := make(map[version.V]bool, len(plan.Path))
	for _, v := range plan.Path {
		onPath[v] = true
	}
	for _, c := range newer {
		if onPath[c.Version] {
			if c.Published.IsZero() && p.MinAge > 0 {
				plan.Warnings = append(plan.Warnings, c.Version.String()+": release time unknown, min_age "+compact(p.MinAge)+" not applied")
			}
			continue
		}
		if h, ok := held(c.Version, obs[c.Version], last, r.blocked); ok {
			plan.Held = append(plan.Held, h)
		}
	}
	return plan
}

// held explains why v is not on the path. Allowed versions below the last hop
// were passed over on the way to a newer patch or release: not held.
func held(v version.V, obs []obstacle, last version.V, blocked string) (Held, bool) {
	if len(obs) == 0 {
		if !last.Less(v) || blocked == "" {
			return Held{}, false
		}
		return Held{Version: v, Code: CodePathBlocked, Reason: blocked}, true
	}
	reasons := make([]string, len(obs))
	for i, o := range obs {
		reasons[i] = o.reason
	}
	h := Held{Version: v, Code: obs[0].code, Reason: strings.Join(reasons, "; "),
		Approvable: len(obs) == 1 && obs[0].code == CodeNeedsApproval}
	for _, o := range obs {
		if o.code == CodeTooNew {
			h.Until = o.until
		}
	}
	return h, true
}

// normalize drops unknown versions, sorts ascending and keeps one candidate
// per version: the one published last (the cautious choice for min_age), or
// the one with a known time.
func normalize(cands []Candidate) []Candidate {
	out := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if !c.Version.IsZero() {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Candidate) int { return a.Version.Compare(b.Version) })
	dedup := out[:0]
	for _, c := range out {
		if n := len(dedup); n > 0 && dedup[n-1].Version == c.Version {
			if c.Published.After(dedup[n-1].Published) {
				dedup[n-1].Published = c.Published
			}
			continue
		}
		dedup = append(dedup, c)
	}
	return dedup
}
