package state

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"
)

// TestFactsReadOlderJournals: state.json and history.jsonl written when
// facts were a string map (times as RFC 3339 strings) read into Facts, and
// Facts write the same keys back.
func TestFactsReadOlderJournals(t *testing.T) {
	old := `{"schema":1,"id":"x","facts":{"old_tag":"v1.22.0","server_image":"twentycrm/twenty:v1.22.0",` +
		`"server_image_id":"sha256:aa","worker_image":"twentycrm/twenty:v1.22.0","worker_image_id":"sha256:bb",` +
		`"backup_id":"20261207T090000Z-v1.22.0","backup_dir":"/var/lib/b/1","old_commit":"abc","new_ref":"v1.23.0",` +
		`"stopped_at":"2026-12-07T09:00:01.123456789Z","healthy_at":"2026-12-07T09:00:04.5Z","started_at":"2026-12-07T09:00:02Z",` +
		`"manual":"y","trigger":"daemon","forced":"skipped"}}`
	var txn Txn
	if err := json.Unmarshal([]byte(old), &txn); err != nil {
		t.Fatal(err)
	}
	want := Facts{OldTag: "v1.22.0", ServerImage: "twentycrm/twenty:v1.22.0", ServerImageID: "sha256:aa",
		WorkerImage: "twentycrm/twenty:v1.22.0", WorkerImageID: "sha256:bb", BackupID: "20261207T090000Z-v1.22.0",
		BackupDir: "/var/lib/b/1", OldCommit: "abc", NewRef: "v1.23.0", Manual: "y", Trigger: "daemon", Forced: "skipped",
		StoppedAt: time.Date(2026, 12, 7, 9, 0, 1, 123456789, time.UTC),
		HealthyAt: time.Date(2026, 12, 7, 9, 0, 4, 500000000, time.UTC),
		UpAt:      time.Date(2026, 12, 7, 9, 0, 2, 0, time.UTC)}
	if !txn.Facts.StoppedAt.Equal(want.StoppedAt) || !txn.Facts.HealthyAt.Equal(want.HealthyAt) || !txn.Facts.UpAt.Equal(want.UpAt) {
		t.Errorf("times: got %v %v %v", txn.Facts.StoppedAt, txn.Facts.HealthyAt, txn.Facts.UpAt)
	}
	got := txn.Facts
	got.StoppedAt, got.HealthyAt, got.UpAt = want.StoppedAt, want.HealthyAt, want.UpAt
	if got != want {
		t.Errorf("facts:\n got %+v\nwant %+v", got, want)
	}

	// Written back: the same keys as the old map, and the times in the same form.
	b, err := json.Marshal(txn.Facts)
	if err != nil {
		t.Fatal(err)
	}
	var back, orig map[string]string
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var wrapper struct {
		Facts map[string]string `json:"facts"`
	}
	if err := json.Unmarshal([]byte(old), &wrapper); err != nil {
		t.Fatal(err)
	}
	orig = wrapper.Facts
	if !maps.Equal(back, orig) {
		t.Errorf("written back:\n got %v\nwant %v", back, orig)
	}

	// No facts: the key is left out, as the map's omitempty did.
	if b, _ := json.Marshal(Entry{ID: "z"}); strings.Contains(string(b), `"facts"`) {
		t.Errorf("empty facts written: %s", b)
	}
}
