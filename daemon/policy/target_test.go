package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func refusalStrs(rs []Refusal) []string {
	out := []string{}
	for _, r := range rs {
		s := r.Code + " " + r.Key
		if r.Hard {
			s += " hard"
		}
		out = append(out, s)
	}
	return out
}

// The releases of issue 14's report: v1.19.0 installed, the v1.23 floor,
// v2.43.1 the newest.
var issue14 = []string{"v1.19.0", "v1.19.5", "v1.20.0", "v1.20.3", "v1.21.2", "v1.22.6", "v1.23.1", "v2.0.0", "v2.43.1"}

func TestJudge(t *testing.T) {
	floor := func(p *Policy) { p.SequentialBelow = version.MustParse("v1.23.0") }
	tests := []struct {
		name     string
		current  string
		rels     []string
		target   string
		policy   func(*Policy)
		refusals []string // "code key [hard]"
		first    string
		path     []string
		reason   string // in some refusal's reason
	}{
		{name: "the next hop", current: "v1.19.0", rels: issue14, target: "v1.20.3", policy: floor,
			refusals: []string{}, path: []string{"v1.20.3"}},
		{name: "an older patch of the next minor is a hop too", current: "v1.19.0", rels: issue14, target: "v1.20.0", policy: floor,
			refusals: []string{}, path: []string{"v1.20.0"}},
		{name: "a patch of the installed minor", current: "v1.19.0", rels: issue14, target: "v1.19.5", policy: floor,
			refusals: []string{}, path: []string{"v1.19.5"}},
		{name: "one hop over the path (issue 14)", current: "v1.19.0", rels: issue14, target: "v2.43.1",
			policy:   func(p *Policy) { floor(p); p.Track = version.StepMajor },
			refusals: []string{"not_next_hop release.sequential_below"}, first: "v1.20.3",
			path:   []string{"v1.20.3", "v1.21.2", "v1.22.6", "v1.23.1", "v2.43.1"},
			reason: "below v1.23.0 Twenty must visit every minor in order: the path is v1.19.0 → v1.20.3 → v1.21.2 → v1.22.6 → v1.23.1 → v2.43.1 (5 transactions); v1.20.3 comes first"},
		{name: "and a major step without approval", current: "v1.19.0", rels: issue14, target: "v2.43.1", policy: floor,
			refusals: []string{"needs_approval release.track", "not_next_hop release.sequential_below"}, first: "v1.20.3",
			path: []string{"v1.20.3", "v1.21.2", "v1.22.6", "v1.23.1", "v2.43.1"}, reason: "major upgrade needs approval"},
		{name: "at the floor one hop goes anywhere", current: "v1.23.1", rels: issue14, target: "v2.0.0",
			policy: func(p *Policy) { floor(p); p.Track = version.StepMajor }, refusals: []string{}, path: []string{"v2.0.0"}},
		{name: "skipped", current: "v1.23.1", rels: issue14, target: "v2.43.1",
			policy: func(p *Policy) {
				floor(p)
				p.Track = version.StepMajor
				p.Skip = map[version.V]bool{version.MustParse("v2.43.1"): true}
			},
			refusals: []string{"skipped release.skip"}, path: []string{"v2.43.1"}},
		{name: "outside the constraint", current: "v1.23.1", rels: issue14, target: "v2.43.1",
			policy: func(p *Policy) {
				floor(p)
				p.Track = version.StepMajor
				p.Constraint, _ = version.ParseConstraint("<v2.10.0")
			},
			refusals: []string{"outside_constraint release.constraint"}, path: []string{"v2.43.1"}},
		{name: "too new", current: "v1.23.1", rels: []string{"v1.23.1", "v1.23.2@5h"}, target: "v1.23.2", policy: floor,
			refusals: []string{"too_new release.min_age"}, path: []string{"v1.23.2"}, reason: "released 5h ago"},
		{name: "failed here is hard", current: "v1.23.1", rels: issue14, target: "v2.0.0",
			policy: func(p *Policy) {
				floor(p)
				p.Track = version.StepMajor
				p.Bad = map[version.V]string{version.MustParse("v2.0.0"): "health gate failed"}
			},
			refusals: []string{"failed_here bad-versions hard"}, path: []string{"v2.0.0"}},
		{name: "unsupported is hard", current: "v1.23.1", rels: issue14, target: "v2.0.0",
			policy: func(p *Policy) {
				floor(p)
				p.Track = version.StepMajor
				p.Unsupported = func(v version.V) string { return "not here" }
			},
			refusals: []string{"unsupported install.mode hard"}, path: []string{"v2.0.0"}},
		{name: "never listed", current: "v1.23.1", rels: issue14, target: "v2.7.0",
			policy:   func(p *Policy) { floor(p); p.Track = version.StepMajor },
			refusals: []string{"not_listed release.source"}, path: []string{"v2.7.0"}},
		{name: "never listed, beyond the next hop", current: "v1.19.0", rels: issue14, target: "v1.21.9",
			policy:   floor,
			refusals: []string{"not_listed release.source", "not_next_hop release.sequential_below"}, first: "v1.20.3",
			path: []string{"v1.20.3", "v1.21.9"}},
		{name: "blocked by a minor with nothing allowed", current: "v1.19.0", rels: issue14, target: "v1.22.6",
			policy: func(p *Policy) {
				floor(p)
				p.Skip = map[version.V]bool{version.MustParse("v1.21.2"): true}
			},
			refusals: []string{"path_blocked release.sequential_below"}, first: "v1.20.3", path: []string{"v1.20.3"},
			reason: "must go through v1.21 first, and no v1.21.x release is allowed"},
		{name: "several rules at once", current: "v1.19.0", rels: issue14, target: "v2.43.1",
			policy: func(p *Policy) {
				floor(p)
				p.Skip = map[version.V]bool{version.MustParse("v2.43.1"): true}
			},
			refusals: []string{"skipped release.skip", "needs_approval release.track", "not_next_hop release.sequential_below"},
			first:    "v1.20.3", path: []string{"v1.20.3", "v1.21.2", "v1.22.6", "v1.23.1", "v2.43.1"}},
		{name: "sequential paths off", current: "v1.19.0", rels: issue14, target: "v1.22.6",
			refusals: []string{}, path: []string{"v1.22.6"}, policy: func(p *Policy) { p.SequentialBelow = version.V{} }},
		{name: "the installed version", current: "v1.23.1", rels: issue14, target: "v1.23.1",
			refusals: []string{"not_newer  hard"}, path: []string{}, reason: "v1.23.1 is installed"},
		{name: "a downgrade", current: "v1.23.1", rels: issue14, target: "v1.22.6",
			refusals: []string{"not_newer  hard"}, path: []string{}, reason: "downgrades are done with twenty-upgraded rollback"},
		{name: "unknown installed version", current: "", rels: issue14, target: "v1.22.6",
			refusals: []string{"not_newer  hard"}, path: []string{}, reason: "installed version is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			var cur version.V
			if tt.current != "" {
				cur = version.MustParse(tt.current)
			}
			target := version.MustParse(tt.target)
			v := Judge(cur, rels(tt.rels...), p, now, target)
			if got := refusalStrs(v.Refusals); !slices.Equal(got, tt.refusals) {
				t.Errorf("refusals %q, want %q", got, tt.refusals)
			}
			if v.OK() != (len(tt.refusals) == 0) {
				t.Errorf("OK() = %v with refusals %q", v.OK(), tt.refusals)
			}
			if got := v.First.String(); tt.first != "" && got != tt.first || tt.first == "" && !v.First.IsZero() {
				t.Errorf("first %s, want %q", got, tt.first)
			}
			if got := strs(v.Path); !slices.Equal(got, tt.path) {
				t.Errorf("path %v, want %v", got, tt.path)
			}
			if tt.reason != "" {
				var all []string
				for _, r := range v.Refusals {
					all = append(all, r.Reason)
				}
				if !strings.Contains(strings.Join(all, "\n"), tt.reason) {
					t.Errorf("no reason says %q: %q", tt.reason, all)
				}
			}
		})
	}
}

// TestJudgeAgreesWithMake: a target Judge accepts is the first hop Make
// plans with that target as its upper bound, and Make's first hop is always
// accepted, for every newer release of a few realistic feeds and policies.
func TestJudgeAgreesWithMake(t *testing.T) {
	feeds := [][]string{issue14, upstream, {"v0.60.2", "v0.60.3", "v1.0.1", "v1.0.4", "v1.1.0", "v1.3.0@5h", "v1.4.0"}}
	policies := map[string]func(*Policy){
		"base":  nil,
		"major": func(p *Policy) { p.Track = version.StepMajor },
		"skip": func(p *Policy) {
			p.Skip = map[version.V]bool{version.MustParse("v1.21.2"): true, version.MustParse("v1.0.4"): true}
		},
		"flat":  func(p *Policy) { p.SequentialBelow = version.V{}; p.Track = version.StepMajor },
		"floor": func(p *Policy) { p.SequentialBelow = version.MustParse("v1.23.0") },
	}
	for _, feed := range feeds {
		cands := rels(feed...)
		for name, edit := range policies {
			p := basePolicy()
			if edit != nil {
				edit(&p)
			}
			for _, cur := range cands {
				for _, tgt := range cands {
					if !cur.Version.Less(tgt.Version) {
						continue
					}
					up := p
					up.Upto = tgt.Version
					plan := Make(cur.Version, cands, up, now)
					next, ok := plan.Next()
					v := Judge(cur.Version, cands, p, now, tgt.Version)
					if v.OK() != (ok && next == tgt.Version) {
						t.Errorf("%s %v: %s → %s: Judge OK %v (%q), Make's next hop %v", name, feed, cur.Version, tgt.Version,
							v.OK(), refusalStrs(v.Refusals), next)
					}
				}
			}
		}
	}
}
