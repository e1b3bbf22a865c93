package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// release loads a config whose [release] section is body, as the daemon does.
func release(body string) (config.Release, error) {
	c, err := config.Parse("test.toml", []byte("[release]\n"+body))
	return c.Release, err
}

// fromConfig is FromConfig over a [release] section as written in a file.
func fromConfig(body string, bad map[version.V]string) (Policy, error) {
	r, err := release(body)
	if err != nil {
		return Policy{}, err
	}
	return FromConfig(r, bad), nil
}

func TestFromConfig(t *testing.T) {
	body := "skip = [\"v1.23.1\"]\nconstraint = \">=v1.20.0 <v3.0.0\"\n"
	bad := map[version.V]string{version.MustParse("v1.23.2"): "rolled back"}
	p, err := fromConfig(body, bad)
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
	if p, err := fromConfig(body+"sequential_below = \"\"\n", nil); err != nil || !p.SequentialBelow.IsZero() || p.Bad == nil {
		t.Fatalf("empty sequential_below: %+v, %v", p, err)
	}

	bads := []struct {
		name string
		edit string
		want string
	}{
		{"track", `track = "minorr"`, `release.track: "minorr" is not a track`},
		{"constraint", `constraint = "~v1.0.0"`, "release.constraint: "},
		{"skip", `skip = ["latest"]`, `release.skip: "latest"`},
		{"min_age", `min_age = "-1h"`, "release.min_age: must not be negative"},
		{"sequential_below", `sequential_below = "v1.22"`, `release.sequential_below: "v1.22"`},
	}
	for _, tt := range bads {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fromConfig(tt.edit+"\n", nil); err == nil || !strings.Contains(err.Error(), tt.want) {
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
	p, err := fromConfig(`track = "major"`, nil)
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
