package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// rels builds candidates: "v1.2.3" was published 30 days ago, "v1.2.3@5h"
// 5 hours ago, "v1.2.3@?" at an unknown time.
func rels(specs ...string) []Candidate {
	out := make([]Candidate, 0, len(specs))
	for _, s := range specs {
		v, age, _ := strings.Cut(s, "@")
		c := Candidate{Version: version.MustParse(v), Published: now.Add(-30 * 24 * time.Hour)}
		switch age {
		case "":
		case "?":
			c.Published = time.Time{}
		default:
			d, err := time.ParseDuration(age)
			if err != nil {
				panic(err)
			}
			c.Published = now.Add(-d)
		}
		out = append(out, c)
	}
	return out
}

func basePolicy() Policy {
	return Policy{Track: version.StepMinor, MinAge: 48 * time.Hour, SequentialBelow: version.MustParse("v1.22.0")}
}

func strs(vs []version.V) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func heldStrs(hs []Held) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Version.String() + " " + h.Code
	}
	return out
}

var upstream = []string{"v1.19.0", "v1.19.5", "v1.20.0", "v1.20.3", "v1.21.0", "v1.21.2", "v1.22.0", "v1.22.6"}

func TestMake(t *testing.T) {
	tests := []struct {
		name     string
		current  string
		rels     []string
		policy   func(*Policy)
		path     []string
		held     []string // "version code"
		warn     string   // substring of the joined warnings
		approval string   // approval target, "" = none
	}{
		{name: "patch track", current: "v1.23.0", rels: []string{"v1.23.1", "v1.23.4", "v1.24.0", "v2.0.0"},
			policy: func(p *Policy) { p.Track = version.StepPatch },
			path:   []string{"v1.23.4"}, held: []string{"v1.24.0 needs_approval", "v2.0.0 needs_approval"}, approval: "v2.0.0"},
		{name: "minor track", current: "v1.23.0", rels: []string{"v1.23.1", "v1.23.4", "v1.24.0", "v2.0.0"},
			path: []string{"v1.24.0"}, held: []string{"v2.0.0 needs_approval"}, approval: "v2.0.0"},
		{name: "major track", current: "v1.23.0", rels: []string{"v1.23.1", "v1.23.4", "v1.24.0", "v2.0.0"},
			policy: func(p *Policy) { p.Track = version.StepMajor },
			path:   []string{"v2.0.0"}, held: []string{}},
		{name: "no track: everything needs approval", current: "v1.23.0", rels: []string{"v1.23.1"},
			policy: func(p *Policy) { p.Track = version.StepNone },
			path:   []string{}, held: []string{"v1.23.1 needs_approval"}, approval: "v1.23.1"},
		{name: "sequential path", current: "v1.19.0", rels: upstream,
			path: []string{"v1.20.3", "v1.21.2", "v1.22.6"}, held: []string{}},
		{name: "sequential path with missing minor", current: "v1.19.0", rels: []string{"v1.20.3", "v1.22.1", "v1.23.0"},
			path: []string{"v1.20.3", "v1.22.1", "v1.23.0"}, held: []string{},
			warn: "v1.21 not in the release source: the path goes from v1.20.3 straight to v1.22.1"},
		{name: "sequential path with several missing minors", current: "v1.10.0", rels: []string{"v1.20.0"},
			path: []string{"v1.20.0"}, held: []string{}, warn: "v1.11 … v1.19 (9) not in the release source"},
		{name: "crossing the floor mid-path", current: "v1.20.1",
			rels:   []string{"v1.20.2", "v1.21.0", "v1.21.4", "v1.22.0", "v1.22.6", "v1.30.2", "v2.0.0", "v2.3.0"},
			policy: func(p *Policy) { p.Track = version.StepMajor },
			path:   []string{"v1.21.4", "v1.22.6", "v2.3.0"}, held: []string{}},
		{name: "crossing the floor, major needs approval", current: "v1.20.1",
			rels: []string{"v1.20.2", "v1.21.0", "v1.21.4", "v1.22.0", "v1.22.6", "v1.30.2", "v2.0.0", "v2.3.0"},
			path: []string{"v1.21.4", "v1.22.6", "v1.30.2"}, held: []string{"v2.0.0 needs_approval", "v2.3.0 needs_approval"},
			approval: "v2.3.0"},
		{name: "floor inside a minor", current: "v1.21.0", rels: []string{"v1.22.1", "v1.23.0", "v1.24.5"},
			policy: func(p *Policy) { p.SequentialBelow = version.MustParse("v1.22.3") },
			path:   []string{"v1.22.1", "v1.23.0", "v1.24.5"}, held: []string{}},
		{name: "sequential off", current: "v1.19.0", rels: upstream,
			policy: func(p *Policy) { p.SequentialBelow = version.V{} },
			path:   []string{"v1.22.6"}, held: []string{}},
		{name: "current minor patch when next minor too new", current: "v1.19.0", rels: []string{"v1.19.5", "v1.20.0@5h"},
			path: []string{"v1.19.5"}, held: []string{"v1.20.0 too_new"}},
		{name: "only patches of the current minor", current: "v1.19.0", rels: []string{"v1.19.2", "v1.19.5"},
			path: []string{"v1.19.5"}, held: []string{}},
		{name: "blocked minor stops the path", current: "v1.19.0", rels: []string{"v1.20.3", "v1.21.0", "v1.22.6"},
			policy: func(p *Policy) { p.Bad = map[version.V]string{version.MustParse("v1.21.0"): "health gate"} },
			path:   []string{"v1.20.3"}, held: []string{"v1.21.0 failed_here", "v1.22.6 path_blocked"}},
		{name: "newest patch of a minor too new", current: "v1.19.0", rels: []string{"v1.20.2", "v1.20.3@1h", "v1.21.0"},
			path: []string{"v1.20.2", "v1.21.0"}, held: []string{"v1.20.3 too_new"}},
		{name: "min_age", current: "v1.23.0", rels: []string{"v1.23.1", "v1.23.2@5h"},
			path: []string{"v1.23.1"}, held: []string{"v1.23.2 too_new"}},
		{name: "min_age unknown publish time", current: "v1.23.0", rels: []string{"v1.23.2@?"},
			path: []string{"v1.23.2"}, held: []string{}, warn: "v1.23.2: release time unknown, min_age 48h not applied"},
		{name: "min_age zero", current: "v1.23.0", rels: []string{"v1.23.2@1m"},
			policy: func(p *Policy) { p.MinAge = 0 },
			path:   []string{"v1.23.2"}, held: []string{}},
		{name: "duplicate release keeps the later time", current: "v1.23.0", rels: []string{"v1.23.2", "v1.23.2@1h"},
			path: []string{}, held: []string{"v1.23.2 too_new"}},
		{name: "bad version", current: "v1.23.0", rels: []string{"v1.23.1", "v1.23.2"},
			policy: func(p *Policy) { p.Bad = map[version.V]string{version.MustParse("v1.23.2"): "rolled back"} },
			path:   []string{"v1.23.1"}, held: []string{"v1.23.2 failed_here"}},
		{name: "skip", current: "v1.23.0", rels: []string{"v1.23.1", "v1.23.2"},
			policy: func(p *Policy) { p.Skip = map[version.V]bool{version.MustParse("v1.23.2"): true} },
			path:   []string{"v1.23.1"}, held: []string{"v1.23.2 skipped"}},
		{name: "constraint", current: "v1.23.0", rels: []string{"v1.24.0", "v2.0.0"},
			policy: func(p *Policy) {
				p.Track = version.StepMajor
				p.Constraint, _ = version.ParseConstraint(">=v1.20.0 <v2.0.0")
			},
			path: []string{"v1.24.0"}, held: []string{"v2.0.0 outside_constraint"}},
		{name: "upgrade --to", current: "v1.19.0", rels: upstream,
			policy: func(p *Policy) { p.Upto = version.MustParse("v1.21.0") },
			path:   []string{"v1.20.3", "v1.21.0"},
			held:   []string{"v1.21.2 above_requested", "v1.22.0 above_requested", "v1.22.6 above_requested"}},
		{name: "v0 to v1 below the floor", current: "v0.60.2", rels: []string{"v0.60.3", "v1.0.1", "v1.0.4", "v1.1.0"},
			policy: func(p *Policy) { p.Track = version.StepMajor },
			path:   []string{"v1.0.4", "v1.1.0"}, held: []string{}},
		{name: "v0 to v1 needs approval", current: "v0.60.2", rels: []string{"v0.60.3", "v1.0.1", "v1.1.0"},
			path: []string{"v0.60.3"}, held: []string{"v1.0.1 needs_approval", "v1.1.0 needs_approval"}, approval: "v1.1.0"},
		{name: "into a new major with missing minors", current: "v0.60.2", rels: []string{"v1.2.0"},
			policy: func(p *Policy) { p.Track = version.StepMajor },
			path:   []string{"v1.2.0"}, held: []string{}, warn: "v1.0, v1.1 not in the release source"},
		{name: "nothing newer", current: "v1.24.0", rels: []string{"v1.23.0", "v1.24.0"},
			path: []string{}, held: []string{}},
		{name: "never a downgrade", current: "v2.0.0", rels: upstream, path: []string{}, held: []string{}},
		{name: "no releases", current: "v1.24.0", path: []string{}, held: []string{}},
		{name: "current unknown", current: "", rels: upstream, path: []string{}, held: []string{},
			warn: "installed version unknown"},
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
			plan := Make(cur, rels(tt.rels...), p, now)
			if got := strings.Join(strs(plan.Path), " "); got != strings.Join(tt.path, " ") {
				t.Errorf("path = [%s], want [%s]", got, strings.Join(tt.path, " "))
			}
			if got := strings.Join(heldStrs(plan.Held), ", "); got != strings.Join(tt.held, ", ") {
				t.Errorf("held = [%s], want [%s]", got, strings.Join(tt.held, ", "))
			}
			warns := strings.Join(plan.Warnings, "\n")
			if (tt.warn == "") != (warns == "") || !strings.Contains(warns, tt.warn) {
				t.Errorf("warnings = %q, want %q", warns, tt.warn)
			}
			gotApp := ""
			if plan.Approval != nil {
				gotApp = plan.Approval.Target.String()
			}
			if gotApp != tt.approval {
				t.Errorf("approval target = %q, want %q", gotApp, tt.approval)
			}
			checkInvariants(t, cur, plan, p)
		})
	}
}

func TestReasons(t *testing.T) {
	p := basePolicy()
	p.Bad = map[version.V]string{version.MustParse("v1.23.3"): "health gate failed: /healthz/worker"}
	p.Skip = map[version.V]bool{version.MustParse("v1.23.4"): true}
	p.Constraint, _ = version.ParseConstraint(">=v1.20.0 <v3.0.0")
	plan := Make(version.MustParse("v1.23.0"), rels("v1.23.3", "v1.23.4", "v1.23.5@5h", "v2.0.0", "v2.1.0@1h", "v3.0.0"), p, now)
	want := map[string]struct {
		reason     string
		approvable bool
	}{
		"v1.23.3": {"failed here before: health gate failed: /healthz/worker", false},
		"v1.23.4": {"skipped by config (release.skip)", false},
		"v1.23.5": {"too new: released 5h ago, min_age 48h", false},
		"v2.0.0":  {"major upgrade needs approval (track = minor)", true},
		"v2.1.0":  {"too new: released 1h ago, min_age 48h; major upgrade needs approval (track = minor)", false},
		"v3.0.0":  {"outside constraint >=v1.20.0 <v3.0.0; major upgrade needs approval (track = minor)", false},
	}
	if len(plan.Held) != len(want) {
		t.Fatalf("held = %v, want %d entries", heldStrs(plan.Held), len(want))
	}
	for _, h := range plan.Held {
		w := want[h.Version.String()]
		t.Run(h.Version.String(), func(t *testing.T) {
			if h.Reason != w.reason || h.Approvable != w.approvable {
				t.Errorf("got %q approvable=%v, want %q approvable=%v", h.Reason, h.Approvable, w.reason, w.approvable)
			}
		})
	}
	if h := plan.Held[2]; !h.Until.Equal(now.Add(43 * time.Hour)) {
		t.Errorf("v1.23.5 until = %v, want %v", h.Until, now.Add(43*time.Hour))
	}
	if plan.Approval == nil || plan.Approval.Target.String() != "v2.0.0" {
		t.Errorf("approval = %+v, want target v2.0.0", plan.Approval)
	}
}

func TestFutureRelease(t *testing.T) {
	p := basePolicy()
	plan := Make(version.MustParse("v1.23.0"), []Candidate{{version.MustParse("v1.23.1"), now.Add(3 * time.Hour)}}, p, now)
	if len(plan.Held) != 1 || !strings.Contains(plan.Held[0].Reason, "3h in the future (clock skew?)") {
		t.Fatalf("held = %+v", plan.Held)
	}
}
