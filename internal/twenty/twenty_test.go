package twenty

import (
	"os"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func TestHas(t *testing.T) {
	for _, tc := range []struct {
		v    string
		f    Feature
		want bool
	}{
		{"v0.52.9", ImageMigrates, false},
		{"v0.53.0", ImageMigrates, true},
		{"v1.21.2", UpgradeStatus, false},
		{"v1.22.0", UpgradeStatus, true},
		{"v0.54.1", RESTClientConfig, false},
		{"v0.55.0", RESTClientConfig, true},
		{"v1.22.4", CrossVersion, false},
		{"v1.23.0", CrossVersion, true},
	} {
		if got := Has(version.MustParse(tc.v), tc.f); got != tc.want {
			t.Errorf("Has(%s, %s) = %v, want %v", tc.v, tc.f, got, tc.want)
		}
	}
	if why := Lacks(version.MustParse("v0.52.0"), ImageMigrates); !strings.Contains(why, "v0.53.0") || !strings.Contains(why, "#11834") {
		t.Errorf("Lacks names neither the version nor the source: %q", why)
	}
	if why := Lacks(version.MustParse("v0.53.0"), ImageMigrates); why != "" {
		t.Errorf("Lacks on a release that has it = %q", why)
	}
}

// TestDocsTable keeps docs/twenty.md's capability table equal to Facts:
// every row names the feature, its first release and its source.
func TestDocsTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/twenty.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 5 {
			continue
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = l
	}
	for _, f := range Facts {
		row, ok := rows[string(f.Feature)]
		if !ok {
			t.Errorf("docs/twenty.md has no row for %s", f.Feature)
			continue
		}
		if !strings.Contains(row, f.Since.String()) {
			t.Errorf("docs/twenty.md row of %s does not say %s: %s", f.Feature, f.Since, row)
		}
		for _, ref := range refs(f.Source) {
			if !strings.Contains(row, ref) {
				t.Errorf("docs/twenty.md row of %s does not cite %s", f.Feature, ref)
			}
		}
	}
}

// refs are the PR and issue numbers a source cites.
func refs(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '(' || r == ')' || r == ';' }) {
		if strings.HasPrefix(w, "#") {
			out = append(out, w)
		}
	}
	return out
}
