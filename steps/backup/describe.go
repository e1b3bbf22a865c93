package backup

import (
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Describe lists the commands and copies a backup of in makes, for the dry
// run: the same argv Create runs (every database on the server is dumped
// like Twenty's).
func (m *Manager) Describe(in *install.Install) []string {
	p, err := m.pgClient(in, m.cfg.Timeouts.Backup)
	if err != nil {
		return []string{"! " + err.Error()}
	}
	db := m.twentyDatabase(in)
	var out []string
	if m.cfg.Backup.Format == "plain" {
		out = append(out, proc.Quote(p.cmd("pg_dumpall", "").Argv)+" > all.sql")
	} else {
		out = append(out,
			proc.Quote(p.cmd("pg_dump", db, "--format=custom", "--compress="+dumpCompression).Argv)+" > db-"+fileSafe(db)+".dump   (and so for every other database on the server)",
			proc.Quote(p.cmd("pg_dumpall", "", "--globals-only").Argv)+" > globals.sql")
	}
	out = append(out, "row counts of every table (psql), to prove the restore")
	switch {
	case m.cfg.Backup.Files == "none":
		out = append(out, "uploaded files: not backed up (backup.files = \"none\")")
	case m.cfg.Backup.Files == "" && in.Spec.S3():
		out = append(out, s3Note)
	case in.Mode == install.ModeCompose && m.cfg.Backup.Files == "":
		out = append(out, fmt.Sprintf("tar of the volume %s > files.tar", in.Spec.FilesVolume))
	default:
		out = append(out, fmt.Sprintf("tar of %s > files.tar", m.cfg.Backup.Files))
	}
	out = append(out, "copy "+in.EnvFile+" > env")
	if f := in.ComposeFile(); f != "" && in.Mode == install.ModeCompose {
		out = append(out, "copy "+f+" > compose.yml")
	}
	out = append(out, "verify: "+m.cfg.Backup.Verify)
	return out
}
