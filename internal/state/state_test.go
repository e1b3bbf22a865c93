package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func TestTxnRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if tx, err := s.Load(); tx != nil || err != nil {
		t.Fatalf("empty store: %v %v", tx, err)
	}
	in := &Txn{ID: "x", From: version.MustParse("v1.0.0"), To: version.MustParse("v1.1.0"), Phase: PhaseForward, Step: "backup",
		Started: []string{"preflight", "pull", "stop", "backup"}, Facts: Facts{OldTag: "v1.0.0"}}
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Load()
	if err != nil || out.Step != "backup" || out.From != in.From || out.Facts.OldTag != "v1.0.0" || out.Schema != SchemaVersion {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if tx, _ := s.Load(); tx != nil {
		t.Fatal("Clear left a transaction")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(s.Dir, "state.json"), []byte(`{"schema": 99}`), 0o600)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "schema 99") {
		t.Fatalf("err = %v", err)
	}
}

func TestHistoryTornLine(t *testing.T) {
	s, _ := Open(t.TempDir())
	now := time.Now().UTC().Truncate(time.Second)
	for _, r := range []string{ResultSuccess, ResultRolledBack} {
		if err := s.Append(Entry{ID: r, Result: r, StartedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.OpenFile(filepath.Join(s.Dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"torn","res`)
	f.Close()
	h, err := s.History()
	if err != nil || len(h) != 2 || h[1].Result != ResultRolledBack {
		t.Fatalf("history %+v %v", h, err)
	}
}

func TestBadVersions(t *testing.T) {
	s, _ := Open(t.TempDir())
	if err := s.MarkBad(version.MustParse("v2.1.0"), "health gate failed:\nversion"); err != nil {
		t.Fatal(err)
	}
	s.MarkBad(version.MustParse("v1.9.0"), "rolled back")
	bad, err := s.BadVersions()
	if err != nil || len(bad) != 2 || bad[version.MustParse("v2.1.0")] != "health gate failed: version" {
		t.Fatalf("bad %v %v", bad, err)
	}
}

func TestLockExcludes(t *testing.T) {
	s, _ := Open(t.TempDir())
	l, err := s.Lock("daemon")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Lock("upgrade --to v2.0.0")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "(daemon)") {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := s.Lock("cli")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l2.Unlock()
}

// A torn last line (power loss mid-append) must not swallow the next entry:
// Append repairs the tail first, so the history stays readable afterwards.
func TestAppendAfterTornLine(t *testing.T) {
	s, _ := Open(t.TempDir())
	if err := s.Append(Entry{ID: "a", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(s.Dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"torn","res`)
	f.Close()
	if err := s.Append(Entry{ID: "b", Result: ResultRolledBack}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil {
		t.Fatalf("history after appending past a torn line: %v", err)
	}
	if len(h) != 2 || h[0].ID != "a" || h[1].ID != "b" {
		t.Fatalf("history = %+v, want a then b", h)
	}
	b, _ := os.ReadFile(filepath.Join(s.Dir, "history.jsonl"))
	if strings.Contains(string(b), "torn") {
		t.Fatalf("torn fragment left in the file:\n%s", b)
	}
}

// A file whose every byte is a torn first line is cut to empty.
func TestAppendAfterTornOnlyLine(t *testing.T) {
	s, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(s.Dir, "history.jsonl"), []byte(`{"id":"to`), 0o600)
	if err := s.Append(Entry{ID: "b", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil || len(h) != 1 || h[0].ID != "b" {
		t.Fatalf("history = %+v %v", h, err)
	}
}

// A torn line longer than one read chunk is still cut at the right place.
func TestAppendAfterLongTornLine(t *testing.T) {
	s, _ := Open(t.TempDir())
	s.Append(Entry{ID: "a", Result: ResultSuccess})
	f, _ := os.OpenFile(filepath.Join(s.Dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"torn","error":"` + strings.Repeat("x", 10000))
	f.Close()
	if err := s.Append(Entry{ID: "b", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil || len(h) != 2 || h[1].ID != "b" {
		t.Fatalf("history = %+v %v", h, err)
	}
}
