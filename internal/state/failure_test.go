package state

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A history line written before Failure existed reads with Failure nil and
// its Error intact; a new line keeps the typed failure.
func TestHistoryFailureOldAndNew(t *testing.T) {
	dir := t.TempDir()
	old := `{"id":"20261101T030000Z-v2.4.0","mode":"compose","from":"v2.3.1","to":"v2.4.0","result":"rolled_back","started_at":"2026-11-01T03:00:00Z","finished_at":"2026-11-01T03:02:00Z","duration_seconds":120,"downtime_seconds":90,"error":"step health: health gate failed: not healthy within 15m0s\n  graphql: HTTP 500"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Open(dir)
	f := &Failure{Step: "health", Checks: []CheckAnswer{{Check: "graphql", Answer: "HTTP 500"}}, Log: []string{"[Nest] ERROR x"}}
	if err := s.Append(Entry{ID: "new", Result: ResultRolledBack, Error: "step health: …", Failure: f}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil || len(h) != 2 {
		t.Fatalf("history %+v %v", h, err)
	}
	if h[0].Failure != nil || h[0].Error == "" || h[0].To.String() != "v2.4.0" {
		t.Errorf("older line: %+v", h[0])
	}
	if !reflect.DeepEqual(h[1].Failure, f) {
		t.Errorf("failure %+v, want %+v", h[1].Failure, f)
	}
}
