package steps

import (
	"context"

	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
)

// FromManager adapts the backup package's *backup.Manager to Backups.
func FromManager(m *backup.Manager) Backups { return managerBackups{m} }

type managerBackups struct{ m *backup.Manager }

func (b managerBackups) Create(ctx context.Context, m BackupMeta) (BackupSet, error) {
	set, err := b.m.Create(ctx, backup.Meta{Version: m.Version, Images: m.Images, Commit: m.Commit, Reason: m.Reason, TxnID: m.TxnID})
	return BackupSet{ID: set.ID, Dir: set.Dir, Size: set.Size}, err
}

func (b managerBackups) Restore(ctx context.Context, id string, o RestoreOptions) error {
	return b.m.Restore(ctx, id, backup.RestoreOptions{StopWriters: o.StopWriters, Env: o.Env, Files: o.Files, Database: o.Database})
}

func (b managerBackups) Prune(protect ...string) ([]string, error) { return b.m.Prune(protect...) }

func (b managerBackups) CheckSpace(ctx context.Context) error { return b.m.CheckSpace(ctx) }
