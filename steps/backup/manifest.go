package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// SchemaVersion of manifest.json; a newer manifest is refused, not misread.
const SchemaVersion = 1

// ManifestName is the manifest's file name inside a set.
const ManifestName = "manifest.json"

// Manifest describes a set. Its JSON keys are stable (snake_case): a newer
// binary must read what an older one wrote, and admins read it by hand.
type Manifest struct {
	Schema        int               `json:"schema"`
	ID            string            `json:"id"`
	CreatedAt     time.Time         `json:"created_at"`
	Reason        string            `json:"reason"`
	TxnID         string            `json:"txn_id,omitempty"`
	TwentyVersion version.V         `json:"twenty_version"`
	Images        map[string]string `json:"image_ids"`
	Commit        string            `json:"commit,omitempty"`
	InstallMode   string            `json:"install_mode"`
	DatabaseMode  string            `json:"database_mode"` // compose or url
	Format        string            `json:"format"`        // custom or plain
	// Online is true when the writers were running during the dump: row
	// counts may then differ slightly and are checked as warnings only.
	Online      bool         `json:"online"`
	Postgres    PostgresInfo `json:"postgres"`
	Databases   []Database   `json:"databases"`
	FilesSource string       `json:"files_source,omitempty"` // volume name or path; "" = not backed up
	// Notes say what the set does not hold and why ("uploaded files are in S3 …").
	Notes        []string     `json:"notes,omitempty"`
	Files        []File       `json:"files"`
	Verification Verification `json:"verification"`
	Duration     float64      `json:"duration_seconds"`
	// Checksum is the sha256 of this manifest written with Checksum empty, so
	// a flipped byte in the manifest itself is detected too.
	Checksum string `json:"checksum"`
}

// PostgresInfo records the tool and server versions used.
type PostgresInfo struct {
	ServerVersion string `json:"server_version"`
	PgDumpVersion string `json:"pg_dump_version"`
}

// Database is one dumped database.
type Database struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"` // custom format: its dump file
	// RowCounts maps "schema.table" to the exact count(*) at backup time.
	RowCounts map[string]int64 `json:"row_counts"`
}

// File is one file of the set with its size and sha256.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Verification is the last verification that passed.
type Verification struct {
	Level    string    `json:"level"` // none, list or restore
	PassedAt time.Time `json:"passed_at,omitzero"`
}

// Verified reports whether any verification passed.
func (m Manifest) Verified() bool {
	return m.Verification.Level == "list" || m.Verification.Level == "restore"
}

// File returns the entry for name.
func (m Manifest) File(name string) (File, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// Encode returns the manifest's JSON with its self-checksum filled in.
func (m Manifest) Encode() ([]byte, error) {
	m.Checksum = ""
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	m.Checksum = hex.EncodeToString(sum[:])
	b, err = json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// DecodeManifest parses and checks a manifest: schema, self-checksum, and
// that every file name is a plain name inside the set.
func DecodeManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON (corrupted?): %w", err)
	}
	if m.Schema < 1 || m.Schema > SchemaVersion {
		return m, fmt.Errorf("manifest schema %d is not one this binary reads (1..%d)", m.Schema, SchemaVersion)
	}
	again, err := m.Encode()
	if err != nil {
		return m, err
	}
	var check Manifest
	_ = json.Unmarshal(again, &check)
	if check.Checksum != m.Checksum {
		return m, errors.New("manifest checksum mismatch: the manifest was changed or corrupted")
	}
	for _, f := range m.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name[0] == '.' {
			return m, fmt.Errorf("manifest names a file outside the set: %q", f.Name)
		}
	}
	return m, nil
}

func readManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return Manifest{}, err
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	return m, nil
}

func writeManifest(dir string, m Manifest) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ManifestName), b, 0o600)
}

// checkFiles compares every file of the set with the manifest: presence,
// size and sha256. It returns every problem found.
func checkFiles(dir string, m Manifest) error {
	var errs []error
	for _, f := range m.Files {
		got, size, err := hashFile(filepath.Join(dir, f.Name))
		switch {
		case err != nil:
			errs = append(errs, err)
		case size != f.Size:
			errs = append(errs, fmt.Errorf("%s: size %d, manifest says %d", f.Name, size, f.Size))
		case got != f.SHA256:
			errs = append(errs, fmt.Errorf("%s: sha256 %s, manifest says %s", f.Name, got, f.SHA256))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("set %s is corrupted: %w", m.ID, errors.Join(errs...))
	}
	return nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
