package backup

import (
	"context"
	"fmt"
	"os"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Action is one thing Create does, as the dry run shows it: a command
// whose standard output becomes a file of the set, or work the program
// does itself (the files archive, the copies), in words.
type Action struct {
	Cmd  proc.Cmd // the command Create runs; no Argv when the work is done in-process
	Into string   // the file of the set it writes ("" for none)
	What string   // in words, when there is no command
	Note string   // said after the rest, in parentheses
}

// Describe lists, for the dry run, what a backup of in does, in Create's
// order and from the same builders: each dump's exact argv (dumps), the
// files archive (filesLocation) and the copies (configCopies). It only
// reads: the databases are listed on the server now and a volume's host
// folder is looked up, as Create does first.
func (m *Manager) Describe(ctx context.Context, in *install.Install) []Action {
	p, err := m.pgFor(ctx, in, m.cfg.Timeouts.Backup)
	if err != nil {
		return []Action{{What: "! " + err.Error()}}
	}
	var out []Action
	dbs, err := p.databases(ctx)
	if err != nil || len(dbs) == 0 {
		why := "none found"
		if err != nil {
			why = err.Error()
		}
		db := m.twentyDatabase(in)
		dbs = []string{db}
		out = append(out, Action{What: fmt.Sprintf("list the databases on the server (not now: %s); the dumps below for %s, and the same for every other one", why, db)})
	}
	for _, d := range dumps(p, m.cfg.Backup.Format, dbs) {
		out = append(out, Action{Cmd: d.cmd, Into: d.file})
	}
	out = append(out, Action{What: "row counts of every table (psql), to prove the restore"})
	loc, ok, err := m.filesLocation(ctx, in)
	switch {
	case err != nil:
		out = append(out, Action{What: "! uploaded files: " + err.Error()})
	case ok && loc.Volume != "":
		out = append(out, Action{Into: "files.tar", What: "tar of the volume " + loc.Volume,
			Note: "read from its host folder " + loc.Dir + " by twenty-upgraded itself: names, modes, numeric owners, times"})
	case ok:
		out = append(out, Action{Into: "files.tar", What: "tar of " + loc.Dir,
			Note: "by twenty-upgraded itself: names, modes, numeric owners, times"})
	case m.cfg.Backup.Files == "none":
		out = append(out, Action{What: "uploaded files: not backed up (backup.files = \"none\")"})
	case in.Spec.S3():
		out = append(out, Action{What: s3Note})
	default:
		out = append(out, Action{What: "uploaded files: none found where the install keeps them: not backed up"})
	}
	for _, c := range configCopies(in) {
		if _, err := os.Stat(c.src); err != nil && c.name != "env" {
			continue // as copyConfig: only .env must be there
		}
		out = append(out, Action{Into: c.name, What: "copy " + c.src})
	}
	return append(out, Action{What: "verify the set (backup.verify = " + m.cfg.Backup.Verify + ")"})
}
