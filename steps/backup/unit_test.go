package backup

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func testManager(t *testing.T) *Manager {
	cfg := config.Default()
	cfg.Backup.Dir = filepath.Join(t.TempDir(), "backups")
	cfg.Backup.Keep = 2
	return New(cfg, &proc.Fake{}, nil)
}

// fakeSet writes a complete-looking set (a manifest and one file).
func fakeSet(t *testing.T, m *Manager, id string, verified bool) {
	t.Helper()
	dir := filepath.Join(m.cfg.Backup.Dir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	man := Manifest{Schema: SchemaVersion, ID: id, Verification: Verification{Level: "none"}}
	if verified {
		man.Verification = Verification{Level: "list", PassedAt: time.Now().UTC()}
	}
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte("TAG=v1.0.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	man.Files = []File{{Name: "env", Size: 11, SHA256: "x"}}
	if err := writeManifest(dir, man); err != nil {
		t.Fatal(err)
	}
}

func TestPruneCandidates(t *testing.T) {
	set := func(id string, verified bool) Set {
		s := Set{ID: id}
		if verified {
			s.Manifest.Verification.Level = "restore"
		}
		return s
	}
	tests := []struct {
		name    string
		sets    []Set // newest first
		keep    int
		protect []string
		want    []string
	}{
		{"fewer than keep", []Set{set("3", true), set("2", true)}, 3, nil, nil},
		{"oldest go", []Set{set("4", true), set("3", true), set("2", true), set("1", true)}, 2, nil, []string{"2", "1"}},
		{"newest verified kept beyond keep", []Set{set("4", false), set("3", false), set("2", true), set("1", true)}, 2, nil, []string{"1"}},
		{"protected kept", []Set{set("4", true), set("3", true), set("2", true), set("1", true)}, 1, []string{"1"}, []string{"3", "2"}},
		{"nothing verified", []Set{set("3", false), set("2", false), set("1", false)}, 1, nil, []string{"2", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PruneCandidates(tc.sets, tc.keep, tc.protect); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPruneOnDisk(t *testing.T) {
	m := testManager(t)
	fakeSet(t, m, "20260101T000000Z-v1.0.0", true)
	fakeSet(t, m, "20260102T000000Z-v1.1.0", false)
	fakeSet(t, m, "20260103T000000Z-v1.2.0", false)
	fakeSet(t, m, "20260104T000000Z-v1.3.0", false)
	fakeSet(t, m, "20260105T000000Z-v1.4.0", false)
	removed, err := m.Prune("20260102T000000Z-v1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"20260103T000000Z-v1.2.0"}; !reflect.DeepEqual(removed, want) {
		t.Errorf("removed %v, want %v (keep 2, the newest verified, the protected one)", removed, want)
	}
	sets, _ := m.List()
	var ids []string
	for _, s := range sets {
		ids = append(ids, s.ID)
	}
	want := []string{"20260105T000000Z-v1.4.0", "20260104T000000Z-v1.3.0", "20260102T000000Z-v1.1.0", "20260101T000000Z-v1.0.0"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("left %v, want %v", ids, want)
	}
}

func TestSpaceRefusal(t *testing.T) {
	m := testManager(t)
	m.estimate = func(context.Context) (int64, error) { return 3 << 30, nil }
	m.freeSpace = func(string) (int64, error) { return 5 << 30, nil }
	_, err := m.Create(context.Background(), Meta{Version: version.MustParse("v1.0.0")})
	if err == nil {
		t.Fatal("Create went ahead with 5 GiB free for a 3 GiB estimate")
	}
	for _, want := range []string{"5.0 GiB free", "need 6.0 GiB", "3.0 GiB", m.cfg.Backup.Dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	entries, _ := os.ReadDir(m.cfg.Backup.Dir)
	if len(entries) != 0 {
		t.Errorf("a refused backup left %v", entries)
	}
	m.freeSpace = func(string) (int64, error) { return 6 << 30, nil }
	if err := m.CheckSpace(context.Background()); err != nil {
		t.Errorf("exactly twice the estimate refused: %v", err)
	}
}

// TestPartialsIgnoredAndCleaned: a crash mid-backup leaves a ".partial-"
// folder; it is never listed and is removed once stale.
func TestPartialsIgnoredAndCleaned(t *testing.T) {
	m := testManager(t)
	fakeSet(t, m, "20260101T000000Z-v1.0.0", true)
	fakeSet(t, m, partialPrefix+"20260102T000000Z-v1.1.0", false)
	fakeSet(t, m, deletingPrefix+"20251231T000000Z-v0.9.0", false)
	fresh := filepath.Join(m.cfg.Backup.Dir, partialPrefix+"20260103T000000Z-v1.2.0")
	if err := os.Mkdir(fresh, 0o700); err != nil {
		t.Fatal(err)
	}
	sets, err := m.List()
	if err != nil || len(sets) != 1 || sets[0].ID != "20260101T000000Z-v1.0.0" {
		t.Fatalf("List = %v, %v; want only the complete set", sets, err)
	}
	old := time.Now().Add(-time.Hour)
	_ = os.Chtimes(filepath.Join(m.cfg.Backup.Dir, partialPrefix+"20260102T000000Z-v1.1.0"), old, old)
	m.cleanStale()
	entries, _ := os.ReadDir(m.cfg.Backup.Dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{partialPrefix + "20260103T000000Z-v1.2.0", "20260101T000000Z-v1.0.0"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("after cleaning: %v, want %v (a fresh partial may belong to a running backup)", names, want)
	}
}

func TestManifestChecksum(t *testing.T) {
	man := Manifest{Schema: 1, ID: "x", Databases: []Database{{Name: "default", RowCounts: map[string]int64{"core.user": 300}}}}
	b, err := man.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeManifest(b); err != nil {
		t.Fatalf("a fresh manifest is refused: %v", err)
	}
	tampered := strings.Replace(string(b), "300", "301", 1)
	if _, err := DecodeManifest([]byte(tampered)); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a changed row count was not detected: %v", err)
	}
	escaped := Manifest{Schema: 1, ID: "x", Files: []File{{Name: "../etc/passwd"}}}
	b, _ = escaped.Encode()
	if _, err := DecodeManifest(b); err == nil {
		t.Error("a manifest naming a file outside the set was accepted")
	}
	future := Manifest{Schema: SchemaVersion + 1, ID: "x"}
	b, _ = future.Encode()
	if _, err := DecodeManifest(b); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("a newer schema was not refused: %v", err)
	}
}

func TestCompareCounts(t *testing.T) {
	if err := CompareCounts(map[string]int64{"a": 1}, map[string]int64{"a": 1}); err != nil {
		t.Errorf("equal counts: %v", err)
	}
	err := CompareCounts(map[string]int64{"a": 1, "b": 2}, map[string]int64{"a": 2, "c": 0})
	if err == nil {
		t.Fatal("differences not reported")
	}
	for _, want := range []string{"a: 2 rows, expected 1", "b: missing", "c: not in the backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestValidID: the IDs newID makes are valid; nothing else is.
func TestValidID(t *testing.T) {
	m := &Manager{cfg: config.Config{Backup: config.Backup{Dir: t.TempDir()}}}
	at := time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)
	id := m.newID(at, version.MustParse("v1.22.6"))
	for _, ok := range []string{id, m.newID(at, version.V{}), id + "-2", id + "-13"} {
		if err := ValidID(ok); err != nil {
			t.Errorf("ValidID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "nope", ".", "..", id + "/..", "/" + id, id + "-", id + "-x", "20261127T031500Z", "20261127T031500Z-1.22.6", "20261127T0315Z-v1.22.6", "x" + id} {
		if err := ValidID(bad); err == nil {
			t.Errorf("ValidID(%q) = nil, want an error", bad)
		}
	}
}
