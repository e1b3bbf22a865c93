// Package config loads and checks twenty-upgraded's TOML configuration.
//
// Loading is strict: unknown keys and values of the wrong TOML type are errors
// with their file:line:col, every invalid value is reported (joined, not just
// the first), and every key has a
// default so a minimal file works. Secrets are never values in this file: the
// GitHub token and the API token are read from files or from systemd's
// $CREDENTIALS_DIRECTORY.
//
// Config lives outside daemon/ because both the daemon and the upgrade engine
// (steps/, which must not import daemon/) read it.
package config

import (
	"slices"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/internal/window"
)

// defaultWindow is the default schedule and duration, parsed.
var defaultWindow = func() window.Window {
	w, err := window.New("CRON_TZ=UTC 0 3 * * *", 2*time.Hour)
	if err != nil {
		panic("config: default window: " + err.Error())
	}
	return w
}()

// DefaultPath is where the daemon and the CLI look without --config.
const DefaultPath = "/etc/twenty-upgraded/config.toml"

// Config is the whole file. Field tags are the binding key names.
type Config struct {
	Install  Install  `toml:"install"`
	Release  Release  `toml:"release"`
	Window   Window   `toml:"window"`
	Backup   Backup   `toml:"backup"`
	Health   Health   `toml:"health"`
	Hooks    Hooks    `toml:"hooks"`
	Source   Source   `toml:"source"`
	Timeouts Timeouts `toml:"timeouts"`
	Daemon   Daemon   `toml:"daemon"`
	Notify   Notify   `toml:"notify"`

	// Path is the file this was loaded from ("" for defaults).
	Path string `toml:"-"`
}

// Install describes the Twenty install being upgraded.
type Install struct {
	Mode           string   `toml:"mode"`            // "compose" or "source"
	Dir            string   `toml:"dir"`             // folder with docker-compose.yml and .env, or the git checkout
	EnvFile        string   `toml:"env_file"`        // .env path; relative to dir
	ComposeFile    string   `toml:"compose_file"`    // compose file; relative to dir ("" = compose's own lookup)
	Project        string   `toml:"project"`         // compose project name
	ComposeCommand []string `toml:"compose_command"` // e.g. ["docker","compose"]; empty = detect
	ServerService  string   `toml:"server_service"`
	WorkerService  string   `toml:"worker_service"`
	DBService      string   `toml:"db_service"`
}

// Release says where releases come from and which ones to take.
type Release struct {
	Source          string        `toml:"source"` // dockerhub, registry, github, file
	URL             string        `toml:"url"`    // base URL; "" = the source's public default
	Image           string        `toml:"image"`  // repository, e.g. twentycrm/twenty
	GithubRepo      string        `toml:"github_repo"`
	TokenFile       string        `toml:"token_file"` // file with a token (GitHub or registry); relative names are looked up in $CREDENTIALS_DIRECTORY
	File            string        `toml:"file"`       // release list for source = "file"
	CheckInterval   time.Duration `toml:"check_interval"`
	Track           string        `toml:"track"`      // patch, minor, major: the largest step taken without approval
	Constraint      string        `toml:"constraint"` // version range, e.g. ">=v1.20.0 <v3.0.0"
	Skip            []string      `toml:"skip"`       // versions never installed
	MinAge          time.Duration `toml:"min_age"`
	SequentialBelow string        `toml:"sequential_below"`

	// Typed is Track, Constraint, Skip and SequentialBelow parsed once by
	// Load; the policy reads these, never the strings above.
	Typed Rules `toml:"-"`
}

// Rules is the [release] policy as typed values.
type Rules struct {
	Track           version.Step
	Constraint      version.Constraint
	Skip            map[version.V]bool
	SequentialBelow version.V // zero: sequential paths off
}

// Window is the maintenance window.
type Window struct {
	Schedule        string        `toml:"schedule"` // robfig cron, CRON_TZ= allowed
	Duration        time.Duration `toml:"duration"`
	RequireApproval bool          `toml:"require_approval"`

	// Typed is Schedule and Duration as the daemon and the CLI use them,
	// parsed once by Load with the daemon's own rules.
	Typed window.Window `toml:"-"`
}

// Backup configures backup sets.
type Backup struct {
	Dir         string `toml:"dir"`
	Keep        int    `toml:"keep"`
	Database    string `toml:"database"`     // "compose" (exec -T db) or "url" (host pg_dump)
	DatabaseURL string `toml:"database_url"` // for database = "url"; no password here: use PGPASSFILE
	Format      string `toml:"format"`       // "custom" (pg_dump -Fc per database) or "plain" (pg_dumpall, Twenty's guide)
	Files       string `toml:"files"`        // uploaded files: a compose volume (compose) or a path (source); "none" = S3
	Verify      string `toml:"verify"`       // none, list, restore
}

// Health configures the health gate.
type Health struct {
	URL       string        `toml:"url"`
	Timeout   time.Duration `toml:"timeout"`
	StableFor time.Duration `toml:"stable_for"`
	Interval  time.Duration `toml:"interval"`
	Checks    []string      `toml:"checks"`
	// APIKeyFile names a file with a Twenty API key (Settings → APIs): the
	// graphql check then builds the workspace schema. Relative names are
	// looked up in $CREDENTIALS_DIRECTORY; the key is never logged.
	APIKeyFile string `toml:"api_key_file"`
}

// Hooks are argv lists run around a transaction.
type Hooks struct {
	PreUpgrade  []string `toml:"pre_upgrade"`
	PostUpgrade []string `toml:"post_upgrade"`
	OnRollback  []string `toml:"on_rollback"`
	OnFailure   []string `toml:"on_failure"`
}

// Source holds the argv lists of source mode. An empty list (the default)
// means the command is chosen from the checked-out tag's own package.json
// files and run where it lives (steps/install PlanSource); a list replaces
// it, run at the checkout's root (["true"] skips the step).
type Source struct {
	Fetch      []string `toml:"fetch"`
	Clean      []string `toml:"clean"`
	Install    []string `toml:"install"`
	Build      []string `toml:"build"`
	Migrate    []string `toml:"migrate"`
	Upgrade    []string `toml:"upgrade"` // the workspace migrations (yarn command:prod upgrade)
	FlushCache []string `toml:"flush_cache"`
	Up         []string `toml:"up"`          // empty = <compose> up -d --build
	BuildEarly bool     `toml:"build_early"` // build in a worktree before the downtime
}

// Timeouts bound each kind of command; a command past its timeout is killed
// with its process group and the step fails.
type Timeouts struct {
	Command time.Duration `toml:"command"` // anything without its own timeout
	Pull    time.Duration `toml:"pull"`
	Stop    time.Duration `toml:"stop"`
	Backup  time.Duration `toml:"backup"`
	Restore time.Duration `toml:"restore"`
	Start   time.Duration `toml:"start"`
	Build   time.Duration `toml:"build"` // source mode: install, build, migrate
	Hook    time.Duration `toml:"hook"`
}

// Daemon configures the long-running service.
type Daemon struct {
	StateDir     string        `toml:"state_dir"`
	Listen       string        `toml:"listen"`
	AllowRemote  bool          `toml:"allow_remote"`   // listen may be reachable from other machines
	LogFormat    string        `toml:"log_format"`     // text or json
	LogLevel     string        `toml:"log_level"`      // debug, info, warn, error
	APITokenFile string        `toml:"api_token_file"` // bearer token for POST /api/v1/*; relative = $CREDENTIALS_DIRECTORY
	MaxResumes   int           `toml:"max_resumes"`
	StopGrace    time.Duration `toml:"stop_grace"` // how long a running step may finish on SIGTERM
}

// Notify configures the notifications sent through shoutrrr.
type Notify struct {
	// URLsFile names a file with one shoutrrr URL per line ('#' comments and
	// blank lines ignored). The URLs hold tokens and passwords, so they are
	// never in this file: relative names are looked up in
	// $CREDENTIALS_DIRECTORY, and a file group or others can read is refused.
	// "" (the default) sends nothing.
	URLsFile string        `toml:"urls_file"`
	Events   []string      `toml:"events"`  // which events are sent; see AllEvents
	Timeout  time.Duration `toml:"timeout"` // one send to one URL may take this long
}

// Notification event names, the values of notify.events.
const (
	EventHeldForApproval = "held_for_approval" // a release waits for approve
	EventStarted         = "started"           // an upgrade began (off by default)
	EventSucceeded       = "succeeded"         // an upgrade finished healthy
	EventRolledBack      = "rolled_back"       // an upgrade failed and the old version runs again
	EventRollbackFailed  = "rollback_failed"   // Twenty may be down: repeated hourly
	EventBackupFailed    = "backup_failed"     // a backup or its verification failed
	EventSourceFailing   = "source_failing"    // the release source failed N checks in a row
	EventResumed         = "resumed"           // an interrupted transaction was resumed after a crash
)

// AllEvents lists every notify.events value.
func AllEvents() []string {
	return []string{EventHeldForApproval, EventStarted, EventSucceeded, EventRolledBack, EventRollbackFailed,
		EventBackupFailed, EventSourceFailing, EventResumed}
}

// DefaultEvents is the default notify.events: everything but started.
func DefaultEvents() []string {
	return slices.DeleteFunc(AllEvents(), func(e string) bool { return e == EventStarted })
}

// Default returns a Config with every key at its default.
func Default() Config {
	c := Config{
		Install: Install{
			Mode:           "compose",
			Dir:            "/opt/twenty",
			EnvFile:        ".env",
			Project:        "twenty",
			ServerService:  "server",
			WorkerService:  "worker",
			DBService:      "db",
			ComposeCommand: []string{},
		},
		Release: Release{
			Source:          "dockerhub",
			Image:           "twentycrm/twenty",
			Skip:            []string{},
			GithubRepo:      "twentyhq/twenty",
			CheckInterval:   6 * time.Hour,
			Track:           "minor",
			MinAge:          48 * time.Hour,
			SequentialBelow: "v1.23.0",
		},
		Window: Window{
			Schedule: "CRON_TZ=UTC 0 3 * * *",
			Duration: 2 * time.Hour,
			Typed:    defaultWindow,
		},
		Backup: Backup{
			Dir:      "/var/backups/twenty-upgraded",
			Keep:     5,
			Database: "compose",
			Format:   "custom",
			Files:    "",
			Verify:   "list",
		},
		Health: Health{
			URL:       "http://127.0.0.1:3000",
			Timeout:   30 * time.Minute,
			StableFor: 60 * time.Second,
			Interval:  5 * time.Second,
			Checks:    AllChecks(),
		},
		Source: Source{
			Fetch: []string{"git", "fetch", "--all", "--tags"},
			Clean: []string{}, Install: []string{}, Build: []string{}, Migrate: []string{},
			Upgrade: []string{}, FlushCache: []string{}, Up: []string{},
		},
		Hooks: Hooks{PreUpgrade: []string{}, PostUpgrade: []string{}, OnRollback: []string{}, OnFailure: []string{}},
		Timeouts: Timeouts{
			Command: 5 * time.Minute,
			Pull:    30 * time.Minute,
			Stop:    5 * time.Minute,
			Backup:  2 * time.Hour,
			Restore: 2 * time.Hour,
			Start:   10 * time.Minute,
			Build:   time.Hour,
			Hook:    5 * time.Minute,
		},
		Daemon: Daemon{
			StateDir:   "/var/lib/twenty-upgraded",
			Listen:     "127.0.0.1:9787",
			LogFormat:  "text",
			LogLevel:   "info",
			MaxResumes: 5,
			StopGrace:  10 * time.Minute,
		},
		Notify: Notify{
			Events:  DefaultEvents(),
			Timeout: 10 * time.Second,
		},
	}
	c.Release.Typed, _ = c.Release.parseRules() // the defaults parse
	return c
}

// Health check names, the values of health.checks.
const (
	CheckContainer     = "container"      // compose reports the server container healthy
	CheckHealthz       = "healthz"        // GET /healthz
	CheckDatabase      = "database"       // GET /healthz/database
	CheckRedis         = "redis"          // GET /healthz/redis
	CheckWorker        = "worker"         // GET /healthz/worker
	CheckApp           = "app"            // GET /healthz/app: no workspace with pending migrations
	CheckGraphQL       = "graphql"        // POST /graphql {__typename}
	CheckVersion       = "version"        // GET /client-config appVersion == target
	CheckUpgradeStatus = "upgrade_status" // yarn command:prod upgrade:status in the server container
	CheckLog           = "log"            // no failure line in the server log since start
)

// AllChecks is the default health.checks (redis is opt-in: not every install has it).
func AllChecks() []string {
	return []string{CheckContainer, CheckHealthz, CheckDatabase, CheckWorker, CheckApp, CheckGraphQL, CheckVersion, CheckUpgradeStatus, CheckLog}
}

func knownChecks() map[string]bool {
	m := map[string]bool{CheckRedis: true}
	for _, c := range AllChecks() {
		m[c] = true
	}
	return m
}
