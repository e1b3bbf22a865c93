package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func TestFromConfig(t *testing.T) {
	r := config.Default().Release
	r.Skip = []string{"v1.23.1"}
	r.Constraint = ">=v1.20.0 <v3.0.0"
	bad := map[version.V]string{version.MustParse("v1.23.2"): "rolled back"}
	p, err := FromConfig(r, bad)
	if err != nil {
		t.Fatal(err)
	}
	if p.Track != version.StepMinor || p.MinAge != 48*time.Hour || p.SequentialBelow.String() != "v1.23.0" ||
		!p.Skip[version.MustParse("v1.23.1")] || p.Bad[version.MustParse("v1.23.2")] != "rolled back" ||
		p.Constraint.Allows(version.MustParse("v3.0.0")) {
		t.Fatalf("FromConfig(defaults) = %+v", p)
	}
	if a := p.Approved(); a.Track != version.StepMajor || p.Track != version.StepMinor {
		t.Fatalf("Approved() = %v, original now %v", a.Track, p.Track)
	}
	r.SequentialBelow = ""
	if p, err := FromConfig(r, nil); err != nil || !p.SequentialBelow.IsZero() || p.Bad == nil {
		t.Fatalf("empty sequential_below: %+v, %v", p, err)
	}

	bads := []struct {
		name string
		edit func(*config.Release)
		want string
	}{
		{"track", func(r *config.Release) { r.Track = "minorr" }, `release.track: "minorr" is not a track`},
		{"constraint", func(r *config.Release) { r.Constraint = "~v1.0.0" }, "release.constraint: "},
		{"skip", func(r *config.Release) { r.Skip = []string{"latest"} }, `release.skip: "latest"`},
		{"min_age", func(r *config.Release) { r.MinAge = -time.Hour }, "release.min_age: must not be negative"},
		{"sequential_below", func(r *config.Release) { r.SequentialBelow = "v1.22" }, `release.sequential_below: "v1.22"`},
	}
	for _, tt := range bads {
		t.Run(tt.name, func(t *testing.T) {
			r := config.Default().Release
			tt.edit(&r)
			if _, err := FromConfig(r, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPlanJSON(t *testing.T) {
	p := basePolicy()
	plan := Make(version.MustParse("v1.19.0"), rels("v1.20.3", "v1.21.2", "v1.22.6", "v2.0.0@5h"), p, now)
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"current":"v1.19.0","newest":"v2.0.0","target":"v1.22.6","path":["v1.20.3","v1.21.2","v1.22.6"],` +
		`"held":[{"version":"v2.0.0","code":"too_new","reason":"too new: released 5h ago, min_age 48h; major upgrade needs approval (track = minor)",` +
		`"approvable":false,"until":"2026-06-03T07:00:00Z"}],"warnings":[]}`
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}

	empty, _ := json.Marshal(Make(version.MustParse("v1.19.0"), nil, p, now))
	if want := `{"current":"v1.19.0","newest":"","target":"","path":[],"held":[],"warnings":[]}`; string(empty) != want {
		t.Fatalf("empty plan JSON\n got %s\nwant %s", empty, want)
	}

	app, _ := json.Marshal(Make(version.MustParse("v1.23.0"), rels("v2.0.0"), p, now))
	if !strings.Contains(string(app), `"approval":{"target":"v2.0.0","path":["v2.0.0"]}`) {
		t.Fatalf("approval JSON missing: %s", app)
	}
}

// TestDefaultFloor: with the default sequential_below (v1.23.0), v1.22.x
// goes through v1.23 before 2.x (Twenty #23568: 1.22.x → 2.x fails), and
// from v1.23 on the jump is one hop.
func TestDefaultFloor(t *testing.T) {
	r := config.Default().Release
	r.Track = "major"
	p, err := FromConfig(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from string
		want []string
	}{
		{"v1.22.4", []string{"v1.23.9", "v2.40.1"}},
		{"v1.21.2", []string{"v1.22.4", "v1.23.9", "v2.40.1"}},
		{"v1.23.0", []string{"v2.40.1"}},
	} {
		plan := Make(version.MustParse(tc.from), rels("v1.22.4", "v1.23.0", "v1.23.9", "v2.0.0", "v2.40.1"), p, now)
		var got []string
		for _, v := range plan.Path {
			got = append(got, v.String())
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("from %s: path %v, want %v", tc.from, got, tc.want)
		}
	}
}

func TestUnsupportedHeld(t *testing.T) {
	p := basePolicy()
	p.SequentialBelow = version.V{}
	p.Unsupported = func(v version.V) string {
		if v.Less(version.MustParse("v0.53.0")) {
			return "image does not migrate"
		}
		return ""
	}
	plan := Make(version.MustParse("v0.51.0"), rels("v0.52.0", "v0.53.0"), p, now)
	if len(plan.Path) != 1 || plan.Path[0].String() != "v0.53.0" {
		t.Errorf("path %v, want [v0.53.0]", plan.Path)
	}
	if len(plan.Held) != 1 || plan.Held[0].Code != CodeUnsupported || !strings.Contains(plan.Held[0].Reason, "image does not migrate") {
		t.Errorf("held %+v", plan.Held)
	}
}
