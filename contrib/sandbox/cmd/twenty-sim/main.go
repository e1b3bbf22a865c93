// Command twenty-sim is the sandbox's Twenty look-alike: one static program
// that plays Twenty's server, worker and `yarn command:prod` where the
// upgrade daemon can see them. It migrates a real PostgreSQL database forward
// for its version, serves Twenty's health, client-config, GraphQL and file
// endpoints on :3000, writes the worker heartbeat, and answers
// `upgrade:status`.
//
// The image build bakes in APP_VERSION and TWENTY_SIM_MODE; a non-empty mode
// makes the release broken in one of the ways real Twenty releases have
// broken (see docs/sandbox.md).
//
// Invocations (argv[0] "yarn" dispatches like Twenty's package scripts):
//
//	twenty-sim [server]              yarn start:prod
//	twenty-sim worker                yarn worker:prod
//	twenty-sim upgrade-status        yarn command:prod upgrade:status (v1.22+)
//	twenty-sim cache-flush           yarn command:prod cache:flush
//	twenty-sim healthcheck           the compose health check (no curl in scratch)
//	twenty-sim checksum DIR          sha256 of a folder tree (the files volume)
//	tar -c|-x [-z] [-f F] [-C DIR]   enough tar to back up and restore the files volume
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Broken modes, baked into an image with TWENTY_SIM_MODE.
const (
	modeGood          = ""
	modeCrashLoop     = "crashloop"      // exits non-zero on every start
	modeUnhealthy     = "unhealthy"      // migrates, then every health endpoint says 503
	modeWrongVersion  = "wrong-version"  // healthy, but reports TWENTY_SIM_REPORTED_VERSION
	modeGraphQLBroken = "graphql-broken" // /healthz green, GraphQL 500, "Upgrade completed with errors" (#23012)
	modeSlowMigration = "slow-migration" // the migration sleeps TWENTY_SIM_SLOW_MIGRATION first
	modeHalfMigration = "half-migration" // changes the schema halfway, then exits non-zero
)

type config struct {
	version    version.V
	appVersion string // APP_VERSION as the image writes it (with or without its v)
	appSecret  string
	// encryptionKey is the key stored secrets are sealed with: ENCRYPTION_KEY
	// when set, else APP_SECRET (resolve-encryption-keys-or-throw.util.ts).
	encryptionKey string
	mode          string
	reported      string        // appVersion reported in wrong-version mode
	slow          time.Duration // migration delay in slow-migration mode
	dbURL         string
	redisURL      string
	storage       string // local storage folder
	storageType   string // STORAGE_TYPE: local or s3
	addr          string
	workerMaxAge  time.Duration
	noMigrations  bool
}

func loadConfig() (config, error) {
	c := config{
		mode:         os.Getenv("TWENTY_SIM_MODE"),
		reported:     getenv("TWENTY_SIM_REPORTED_VERSION", "v0.0.1"),
		dbURL:        getenv("PG_DATABASE_URL", "postgres://postgres@db:5432/default"),
		redisURL:     os.Getenv("REDIS_URL"),
		storage:      getenv("STORAGE_LOCAL_PATH", "/app/packages/twenty-server/.local-storage"),
		addr:         ":" + getenv("NODE_PORT", "3000"),
		noMigrations: os.Getenv("DISABLE_DB_MIGRATIONS") == "true",
		appVersion:   os.Getenv("APP_VERSION"),
		appSecret:    os.Getenv("APP_SECRET"),
		storageType:  getenv("STORAGE_TYPE", "local"),
	}
	v, err := version.ParseLoose(c.appVersion)
	if err != nil {
		return c, fmt.Errorf("APP_VERSION: %w (the image build sets it)", err)
	}
	c.version = v
	c.encryptionKey = getenv("ENCRYPTION_KEY", c.appSecret)
	if c.slow, err = time.ParseDuration(getenv("TWENTY_SIM_SLOW_MIGRATION", "10m")); err != nil {
		return c, fmt.Errorf("TWENTY_SIM_SLOW_MIGRATION: %w", err)
	}
	if c.workerMaxAge, err = time.ParseDuration(getenv("TWENTY_SIM_WORKER_MAX_AGE", "15s")); err != nil {
		return c, fmt.Errorf("TWENTY_SIM_WORKER_MAX_AGE: %w", err)
	}
	return c, nil
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() { os.Exit(run(os.Args)) }

func run(argv []string) int {
	cmd := command(argv)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch cmd {
	case "tar":
		return tarCmd(argv[1:])
	case "healthcheck":
		return healthcheck(getenv("NODE_PORT", "3000"))
	case "checksum":
		if len(argv) < 3 {
			fmt.Fprintln(os.Stderr, "usage: twenty-sim checksum DIR")
			return 2
		}
		return checksumCmd(argv[2])
	}
	cfg, err := loadConfig()
	if err != nil {
		logf("Error: %v", err)
		return 1
	}
	switch cmd {
	case "server":
		return serverMain(ctx, cfg)
	case "worker":
		return workerMain(ctx, cfg)
	case "upgrade-status":
		if cfg.version.Less(upgradeStatusFrom) {
			// Like nest-commander on a release without the command.
			fmt.Fprintln(os.Stderr, "error: unknown command 'upgrade:status'")
			return 1
		}
		return upgradeStatus(ctx, cfg, os.Stdout)
	case "cache-flush":
		return cacheFlush(ctx, cfg, "command")
	}
	fmt.Fprintf(os.Stderr, "twenty-sim: unknown command %q (want server, worker, upgrade-status, cache-flush, healthcheck, checksum)\n", strings.Join(argv[1:], " "))
	return 2
}

// command maps argv, including Twenty's yarn scripts, to a subcommand.
func command(argv []string) string {
	args := argv[1:]
	if filepath.Base(argv[0]) == "tar" {
		return "tar"
	}
	if filepath.Base(argv[0]) == "yarn" {
		switch {
		case len(args) >= 2 && args[0] == "command:prod" && args[1] == "upgrade:status":
			return "upgrade-status"
		case len(args) >= 2 && args[0] == "command:prod" && args[1] == "cache:flush":
			return "cache-flush"
		case len(args) >= 1 && args[0] == "worker:prod":
			return "worker"
		case len(args) >= 1 && args[0] == "start:prod":
			return "server"
		}
		return "yarn " + strings.Join(args, " ")
	}
	if len(args) == 0 {
		return "server"
	}
	return args[0]
}

// logf prints one log line the way Nest does, closely enough for grep.
func logf(format string, a ...any) {
	fmt.Printf("[Nest] %d  - %s     LOG [twenty-sim] %s\n", os.Getpid(),
		time.Now().UTC().Format("01/02/2006, 3:04:05 PM"), fmt.Sprintf(format, a...))
}
