// Command twenty-upgraded keeps a self-hosted Twenty CRM up to date: it finds
// new releases, waits for the maintenance window, backs up, upgrades, checks
// that Twenty works and rolls everything back when it does not.
//
// This file is the only place that maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
)

// Exit codes (README.md "Commands"; binding: scripts depend on them).
const (
	exitOK         = 0
	exitFailed     = 1
	exitUsage      = 2
	exitRolledBack = 3
	exitHeld       = 4
	exitLocked     = 75
	exitConfig     = 78
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	if filepath.Base(os.Args[0]) == backup.FilesHelperName { // inside a restore's one-off container
		os.Exit(backup.FilesMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what every command gets: its streams, the config path and helpers.
type env struct {
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	configPath string
	logger     *slog.Logger
	now        func() time.Time
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"run":      {"run the daemon (what systemd starts)", cmdRun},
		"check":    {"ask the release source now; print current, newest, next target and why held", cmdCheck},
		"plan":     {"print the upgrade path and the next window", cmdPlan},
		"upgrade":  {"run one upgrade transaction now (--to, --force, --dry-run, --yes)", cmdUpgrade},
		"rollback": {"put back the state before the last transaction, from its backup", cmdRollback},
		"backup":   {"take a backup set now", cmdBackup},
		"restore":  {"restore a backup set (ID)", cmdRestore},
		"backups":  {"list backup sets with size, versions and verification", cmdBackups},
		"status":   {"state, versions, last result, next window, transaction in progress", cmdStatus},
		"history":  {"the audit log of every transaction", cmdHistory},
		"validate": {"load and check the config; exit 0 or 78", cmdValidate},
		"notify":   {"--test: send a test message to every notification URL; exit 1 if any failed", cmdNotify},
		"version":  {"print the build version", cmdVersion},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	fs := flag.NewFlagSet("twenty-upgraded", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.configPath, "config", config.DefaultPath, "configuration `file`")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		usage(stderr, fs)
		return exitUsage
	}
	name := fs.Arg(0)
	if name == "help" {
		usage(stdout, fs)
		return exitOK
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(stderr, "twenty-upgraded: unknown command %q (run twenty-upgraded help)\n", name)
		return exitUsage
	}
	e.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err := cmd.run(ctx, e, fs.Args()[1:])
	code := exitCode(err)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "twenty-upgraded %s: %v\n", name, err)
	}
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ce *config.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ce):
		return exitConfig
	case errors.Is(err, state.ErrLocked):
		return exitLocked
	case errors.Is(err, outcome.ErrRolledBack):
		return exitRolledBack
	case errors.Is(err, outcome.ErrHeld):
		return exitHeld
	case errors.Is(err, outcome.ErrUsage):
		return exitUsage
	}
	return exitFailed
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: twenty-upgraded [--config FILE] COMMAND [flags]\n\nCommands:\n")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n  --config FILE  configuration file (default %s)\n", config.DefaultPath)
	fmt.Fprintf(w, "\nRun 'twenty-upgraded COMMAND --help' for a command's flags.\n")
	fmt.Fprintf(w, "Exit codes: 0 ok, 1 failed, 2 usage, 3 rolled back, 4 held, 75 locked by another run, 78 config error.\n")
}

// usageErr builds an error that exits 2.
func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", outcome.ErrUsage, fmt.Sprintf(format, args...))
}

// newFlags returns a FlagSet for a command that prints to e.stderr.
func (e *env) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: twenty-upgraded %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	return nil
}

// loadConfig loads the config and replaces the logger with one built from it.
func (e *env) loadConfig() (config.Config, error) {
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return cfg, err
	}
	e.logger = newLogger(e.stderr, cfg.Daemon)
	return cfg, nil
}

// open loads the config and opens its state folder: how every command that
// reads state begins.
func (e *env) open() (config.Config, *state.Store, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return cfg, nil, err
	}
	store, err := state.Open(cfg.Daemon.StateDir)
	return cfg, store, err
}

// openLocked is open plus the state folder's lock for what (lockState).
func (e *env) openLocked(what string) (config.Config, *state.Store, func(), error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return cfg, nil, nil, err
	}
	store, unlock, err := lockState(cfg, what)
	return cfg, store, unlock, err
}

func newLogger(w io.Writer, d config.Daemon) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(d.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if d.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// lockState opens the state folder and takes its lock for what (the daemon
// and mutating commands exclude each other; the loser exits 75 naming the
// holder). Call unlock when done.
func lockState(cfg config.Config, what string) (store *state.Store, unlock func(), err error) {
	store, err = state.Open(cfg.Daemon.StateDir)
	if err != nil {
		return nil, nil, err
	}
	lock, err := store.Lock(what)
	if err != nil {
		return nil, nil, err
	}
	return store, func() { lock.Unlock() }, nil
}
