package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
)

// cmdRestore puts a set back: it stops server and worker, restores the
// databases, the uploaded files and .env, checks row counts, then brings the
// writers that were running back up (`up -d`, so the restored .env applies).
func cmdRestore(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("restore", "ID [--yes] [--no-start] [--skip-files] [--skip-env]")
	yes := fs.Bool("yes", false, "do not ask (required when stdin is not a terminal)")
	noStart := fs.Bool("no-start", false, "leave server and worker stopped afterwards")
	skipFiles := fs.Bool("skip-files", false, "do not put the uploaded files back")
	skipEnv := fs.Bool("skip-env", false, "do not put .env back")
	if err := parseFlags(fs, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("restore needs exactly one set ID (see twenty-upgraded backups)")
	}
	id := fs.Arg(0)
	if err := backup.ValidID(id); err != nil {
		return usageErr("%v", err)
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	m := newBackupManager(e, cfg)
	set, err := m.Get(id)
	if err != nil {
		return err
	}
	if !*yes {
		if err := confirm(e, set); err != nil {
			return err
		}
	}
	store, unlock, err := lockState(cfg, "restore "+id)
	if err != nil {
		return err
	}
	defer unlock()
	running, err := m.Writers(ctx)
	if err != nil {
		return err
	}
	err = m.Restore(ctx, id, backup.RestoreOptions{StopWriters: true, Database: true, Files: !*skipFiles, Env: !*skipEnv})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s (twenty %s): databases, row counts checked", id, orDash(set.Manifest.TwentyVersion.String()))
	if !*skipFiles {
		fmt.Fprint(e.stdout, ", uploaded files")
	}
	if !*skipEnv {
		fmt.Fprint(e.stdout, ", .env")
	}
	fmt.Fprintln(e.stdout)
	endRollbackFailed(e, store.Dir)
	if *noStart {
		return nil
	}
	return m.StartWriters(ctx, running)
}

// confirm asks on a terminal; without one it refuses (use --yes).
func confirm(e *env, set backup.Set) error {
	if !isTerminal(e.stdin) {
		return usageErr("restore replaces the current database, files and .env; stdin is not a terminal, so pass --yes to confirm")
	}
	fmt.Fprintf(e.stderr, "This replaces the databases, uploaded files and .env of %s with backup set %s (taken %s, twenty %s).\nEverything written since is lost. Type the set ID to continue: ",
		cfgDirHint(set), set.ID, set.Manifest.CreatedAt.Local().Format("2006-01-02 15:04"), orDash(set.Manifest.TwentyVersion.String()))
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("restore cancelled")
	}
	if strings.TrimSpace(line) != set.ID {
		return errors.New("restore cancelled (the answer was not the set ID)")
	}
	return nil
}

func cfgDirHint(set backup.Set) string {
	if set.Manifest.InstallMode != "" {
		return "this " + set.Manifest.InstallMode + " install"
	}
	return "this install"
}

// reorder moves flags before the positional ID so `restore ID --yes` works.
func reorder(args []string) []string {
	var flags, pos []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
