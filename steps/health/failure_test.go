package health

import (
	"slices"
	"testing"
)

func TestJudged(t *testing.T) {
	starting := Result{Check: "container", Answer: "container running starting"}
	fatal := Result{Check: "log", Answer: "failure line in the server log: Upgrade completed with errors", Fatal: true}
	graphql := Result{Check: "graphql", Answer: "HTTP 500"}
	notRun := Result{Check: "upgrade_status", Answer: "not run until the other checks pass", NotRun: true}
	for _, c := range []struct {
		name    string
		failing []Result
		want    []string
	}{
		{"a fatal answer decides alone", []Result{starting, fatal}, []string{"log"}},
		{"a check not run is left out", []Result{graphql, notRun}, []string{"graphql"}},
		{"only a check not run", []Result{notRun}, []string{"upgrade_status"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, r := range (&Error{Failing: c.failing}).Judged() {
				got = append(got, r.Check)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("judged %v, want %v", got, c.want)
			}
		})
	}
}

func TestRelevantLines(t *testing.T) {
	tail := []string{"[Nest] LOG starting", "", "[Nest] ERROR QueryFailedError: x", "[Nest] LOG a", "Upgrade completed with 1 workspace failure(s)", "[Nest] LOG listening"}
	if got, want := RelevantLines(tail, 5), []string{"[Nest] ERROR QueryFailedError: x", "Upgrade completed with 1 workspace failure(s)"}; !slices.Equal(got, want) {
		t.Errorf("lines that matter %q, want %q", got, want)
	}
	if got, want := RelevantLines(tail, 1), []string{"Upgrade completed with 1 workspace failure(s)"}; !slices.Equal(got, want) {
		t.Errorf("at most 1: %q, want %q", got, want)
	}
	plain := []string{"a", "b", "c"}
	if got, want := RelevantLines(plain, 2), []string{"b", "c"}; !slices.Equal(got, want) {
		t.Errorf("nothing stands out: %q, want the last lines %q", got, want)
	}
}
