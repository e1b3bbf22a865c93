package daemon

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
)

// The Grafana dashboard and the alert rules use only metrics the daemon
// exports, so renaming a metric cannot silently blank a panel or an alert.
func TestContribUsesExportedMetrics(t *testing.T) {
	known := append(metricNames(), ns+"_build_info")
	re := regexp.MustCompile(`twenty_upgraded_\w+`)
	check := func(file string, texts []string) {
		if len(texts) == 0 {
			t.Errorf("%s: nothing found", file)
		}
		for _, s := range texts {
			for _, m := range re.FindAllString(s, -1) {
				if !slices.Contains(known, m) {
					t.Errorf("%s uses %s, which the daemon does not export", file, m)
				}
			}
		}
	}
	b, err := os.ReadFile("../contrib/grafana/twenty-upgraded.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	check("contrib/grafana/twenty-upgraded.json", exprs)
	rules, err := os.ReadFile("../contrib/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	check("contrib/prometheus/alerts.yml", []string{string(rules)})
}
