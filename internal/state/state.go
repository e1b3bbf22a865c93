// Package state keeps twenty-upgraded's durable state in daemon.state_dir:
//
//   - state.json: the open transaction, rewritten atomically before every step
//     (the write-ahead journal the engine resumes from after a crash);
//   - history.jsonl: an append-only audit log, one finished transaction a line;
//   - bad-versions: releases that failed here and are not retried automatically;
//   - approval.json: the release an operator approved (window.require_approval);
//   - lock: an flock that makes the daemon and mutating CLI commands exclude
//     each other.
//
// It lives outside daemon/ because the engine (steps/) writes it through a
// journal interface and the daemon and CLI read it.
package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// SchemaVersion is written into state.json; a newer file than this binary
// understands is refused rather than misread.
const SchemaVersion = 1

// Phase of a transaction.
const (
	PhaseForward  = "forward"  // running steps toward the target
	PhaseRollback = "rollback" // undoing started steps in reverse
	PhaseFailed   = "rollback_failed"
)

// Results recorded in history.
const (
	ResultSuccess    = "success"
	ResultRolledBack = "rolled_back"
	ResultFailed     = "failed" // failed before any change, or the rollback failed
)

// Txn is the open transaction as persisted in state.json. Field names are
// stable: a newer binary must read what an older one wrote.
type Txn struct {
	Schema    int       `json:"schema"`
	ID        string    `json:"id"`
	Mode      string    `json:"mode"` // compose or source
	From      version.V `json:"from"`
	To        version.V `json:"to"`
	Phase     string    `json:"phase"`
	Step      string    `json:"step"`    // the step being run (or rolled back)
	Started   []string  `json:"started"` // steps whose Run began, in order
	Done      []string  `json:"done"`    // steps whose Run completed
	Undone    []string  `json:"undone"`  // steps whose Rollback completed
	Resumes   int       `json:"resumes"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Error     string    `json:"error,omitempty"`
	// Facts recorded by steps and needed to undo them (old TAG, image IDs,
	// old commit, backup ID, ...).
	Facts Facts `json:"facts,omitzero"`
	// Steps timings for history.
	Timings []StepTiming `json:"timings,omitempty"`
	// Recovery holds the manual recovery commands once a rollback failed
	// (phase rollback_failed): shown by status, never acted on automatically.
	Recovery string `json:"recovery,omitempty"`
	// Interrupted: see Entry.Interrupted.
	Interrupted bool `json:"interrupted,omitempty"`
	// Failure: what Error says, typed; kept here so that a rollback
	// resumed after a crash still reports the check that failed.
	Failure *Failure `json:"failure,omitempty"`
}

// StepTiming is how long one step (or its rollback) took.
type StepTiming struct {
	Step     string  `json:"step"`
	Action   Action  `json:"action"`
	Seconds  float64 `json:"duration_seconds"`
	Error    string  `json:"error,omitempty"`
	Finished bool    `json:"finished"`
}

// Entry is one line of history.jsonl.
type Entry struct {
	ID         string       `json:"id"`
	Mode       string       `json:"mode"`
	From       version.V    `json:"from"`
	To         version.V    `json:"to"`
	Result     string       `json:"result"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt time.Time    `json:"finished_at"`
	Seconds    float64      `json:"duration_seconds"`
	Downtime   float64      `json:"downtime_seconds"`
	Backup     string       `json:"backup,omitempty"`
	Error      string       `json:"error,omitempty"`
	Recovery   string       `json:"recovery,omitempty"` // manual recovery commands when the rollback failed
	Steps      []StepTiming `json:"steps,omitempty"`
	Resumes    int          `json:"resumes,omitempty"`
	Trigger    string       `json:"trigger,omitempty"` // daemon, cli
	// Interrupted: rolled back because the process was killed or stopped
	// while the new version ran, not because a check failed. The first such
	// attempt does not mark the version bad (docs/engine.md).
	Interrupted bool `json:"interrupted,omitempty"`
	// Facts the transaction recorded (old TAG, image IDs, old commit, backup
	// dir; never secrets), so `rollback` can undo a committed transaction.
	Facts Facts `json:"facts,omitzero"`
	// Failure is Error typed: the failing step, the failing checks with
	// their answers, the log lines that matter. nil on success, on an
	// interruption, and in lines written before it existed.
	Failure *Failure `json:"failure,omitempty"`
}

// Store reads and writes the files in one state folder.
type Store struct {
	Dir string
}

// Open makes sure dir exists (0700) and returns its Store. A folder it
// creates has its parent fsynced, so the folder survives a power loss along
// with the files written into it.
func Open(dir string) (*Store, error) {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state folder %s: %w (set daemon.state_dir to a writable folder)", dir, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := atomicfile.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, fmt.Errorf("state folder %s: %w", dir, err)
		}
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// Load returns the open transaction, or nil when there is none.
func (s *Store) Load() (*Txn, error) {
	b, err := os.ReadFile(s.path("state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var t Txn
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("state file %s is damaged: %w (it is written atomically, so this is not a crash mid-write; inspect it before deleting it)", s.path("state.json"), err)
	}
	if t.Schema > SchemaVersion {
		return nil, fmt.Errorf("state file %s has schema %d, newer than this binary's %d: run the newer twenty-upgraded", s.path("state.json"), t.Schema, SchemaVersion)
	}
	return &t, nil
}

// Save persists t atomically (temp file, fsync, rename, fsync folder).
func (s *Store) Save(t *Txn) error {
	t.Schema = SchemaVersion
	t.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.path("state.json"), append(b, '\n'), 0o600)
}

// Clear removes state.json once the transaction is recorded in history.
func (s *Store) Clear() error {
	err := os.Remove(s.path("state.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(s.Dir)
}

// Append adds e to history.jsonl and fsyncs it. A torn last line left by a
// power loss mid-append is cut off first, or the new entry would be glued to
// it and the whole line lost (History skips a torn last line, not a torn
// middle one). A newly created file has its folder fsynced so that the file
// itself survives a power loss.
func (s *Store) Append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	name := s.path("history.jsonl")
	f, created, err := openHistory(name)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := appendLine(f, append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("history %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if created {
		return atomicfile.SyncDir(s.Dir)
	}
	return nil
}

// openHistory opens name for appending, creating it (0600) when missing, and
// reports whether it did.
func openHistory(name string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	}
	f, err = os.OpenFile(name, os.O_APPEND|os.O_RDWR, 0)
	return f, false, err
}

// appendLine repairs a torn tail of f, then writes line and fsyncs.
func appendLine(f *os.File, line []byte) error {
	end, err := completeLength(f)
	if err != nil {
		return fmt.Errorf("find the last complete line: %w", err)
	}
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.Size() != end {
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("cut off a torn last line: %w", err)
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if _, err := f.Write(line); err != nil {
		return err
	}
	return f.Sync()
}

// completeLength is the length of f up to and including its last newline (0
// when it has none): everything after it is a torn line.
func completeLength(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 4096)
	for end := st.Size(); end > 0; {
		n := int64(len(buf))
		if end < n {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// History returns every entry, oldest first. A torn last line (power loss
// mid-append) is skipped; any other damaged line is an error.
func (s *Store) History() ([]Entry, error) {
	b, err := os.ReadFile(s.path("history.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	lines := 0
	for sc.Scan() {
		lines++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			if !bytes.HasSuffix(b, []byte("\n")) && lines == bytes.Count(b, []byte("\n"))+1 {
				break // torn final line
			}
			return out, fmt.Errorf("history line %d: %w", lines, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// BadVersions returns the releases that failed here, with their reasons.
func (s *Store) BadVersions() (map[version.V]string, error) {
	b, err := os.ReadFile(s.path("bad-versions"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[version.V]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bad-versions: %w", err)
	}
	out := map[version.V]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tag, reason, _ := strings.Cut(line, " ")
		v, err := version.Parse(tag)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", s.path("bad-versions"), i+1, err)
		}
		out[v] = strings.TrimSpace(reason)
	}
	return out, nil
}

// MarkBad records v as failed here. Removing its line from the file (by hand)
// lets the daemon try it again.
func (s *Store) MarkBad(v version.V, reason string) error {
	bad, err := s.BadVersions()
	if err != nil {
		return err
	}
	bad[v] = strings.ReplaceAll(reason, "\n", " ")
	vs := make([]version.V, 0, len(bad))
	for k := range bad {
		vs = append(vs, k)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Less(vs[j]) })
	var b strings.Builder
	b.WriteString("# Releases that failed here and are not installed automatically.\n# Delete a line to allow that version again.\n")
	for _, k := range vs {
		fmt.Fprintf(&b, "%s %s\n", k, bad[k])
	}
	return atomicfile.WriteFile(s.path("bad-versions"), []byte(b.String()), 0o600)
}
