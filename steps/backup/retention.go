package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// Prune deletes sets beyond the newest backup.keep, except the newest
// verified set and the protected IDs (the backup an open upgrade may need).
// A set is renamed to a ".deleting-" name before it is removed, so a crash
// mid-delete never leaves a half set that looks whole.
func (m *Manager) Prune(protect ...string) ([]string, error) {
	sets, err := m.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, id := range PruneCandidates(sets, m.cfg.Backup.Keep, protect) {
		gone := filepath.Join(m.cfg.Backup.Dir, deletingPrefix+id)
		if err := os.Rename(filepath.Join(m.cfg.Backup.Dir, id), gone); err != nil {
			return removed, fmt.Errorf("prune %s: %w", id, err)
		}
		if err := atomicfile.SyncDir(m.cfg.Backup.Dir); err != nil {
			return removed, err
		}
		if err := os.RemoveAll(gone); err != nil {
			return removed, fmt.Errorf("prune %s: %w", id, err)
		}
		m.log.Info("pruned backup set", "id", id)
		removed = append(removed, id)
	}
	return removed, nil
}

// PruneCandidates is the pure rule: given sets newest first, the IDs to
// delete.
func PruneCandidates(sets []Set, keep int, protect []string) []string {
	keepID := map[string]bool{}
	for _, id := range protect {
		keepID[id] = true
	}
	for i, s := range sets {
		if i < keep {
			keepID[s.ID] = true
		}
	}
	for _, s := range sets {
		if s.Manifest.Verified() {
			keepID[s.ID] = true
			break
		}
	}
	var out []string
	for _, s := range sets {
		if !keepID[s.ID] {
			out = append(out, s.ID)
		}
	}
	return out
}

func (m *Manager) estimateWith(ctx context.Context, in *install.Install, p pg) (int64, error) {
	rows, err := p.query(ctx, "postgres", "select coalesce(sum(pg_database_size(datname)), 0) from pg_database where not datistemplate and datallowconn and datname not like '"+drillPrefix+"%'")
	if err != nil {
		return 0, fmt.Errorf("estimate backup size: %w", err)
	}
	var n int64
	if len(rows) == 1 {
		n, _ = strconv.ParseInt(rows[0][0], 10, 64)
	}
	root, _, ok, err := m.filesRoot(ctx, in)
	if err != nil {
		return 0, err
	}
	if ok {
		size, err := treeSize(root)
		if err != nil {
			return 0, fmt.Errorf("estimate files size: %w", err)
		}
		n += size
	}
	return n, nil
}

// CheckSpace refuses when backup.dir has less than twice the estimate
// free. The engine's preflight and the backup command call it before they
// stop the writers; it also reads then what Create needs and a stop cannot
// change (see beforeStop), so Create only reads the free space again.
func (m *Manager) CheckSpace(ctx context.Context) error {
	var in *install.Install
	if m.estimate == nil {
		var err error
		if in, err = m.install(ctx, nil); err != nil {
			return err
		}
	}
	return m.checkSpace(ctx, in, true)
}

// checkSpace compares the free space in backup.dir with twice the
// estimate: read now when fresh (or when none from before the stop is
// known), else the one CheckSpace read before the stop. in may be nil only
// with a test's estimate.
func (m *Manager) checkSpace(ctx context.Context, in *install.Install, fresh bool) error {
	dir := m.cfg.Backup.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup folder: %w", err)
	}
	var est int64
	var err error
	if m.estimate != nil {
		est, err = m.estimate(ctx)
	} else if f, ok := m.cached(in); !fresh && ok && f.estimated {
		est = f.estimate
	} else {
		est, err = m.prepare(ctx, in)
	}
	if err != nil {
		return err
	}
	free, err := m.freeSpace(dir)
	if err != nil {
		return err
	}
	if free < 2*est {
		return fmt.Errorf("not enough free space in %s: %s free, need %s (twice the estimated backup size of %s); free space or move backup.dir",
			dir, HumanBytes(free), HumanBytes(2*est), HumanBytes(est))
	}
	m.log.Debug("free space ok", "dir", dir, "free_bytes", free, "estimate_bytes", est, "estimate_from_before_the_stop", !fresh)
	return nil
}

// HumanBytes renders n as "1.5 GiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
