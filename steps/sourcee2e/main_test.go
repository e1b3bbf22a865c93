// Package sourcee2e runs the upgrade engine in source mode (the seed
// guide's install: a git checkout of Twenty built on the host) against as
// many real parts as a test machine has: real git (a bare "upstream" with
// release tags and a clone as install.dir), a real PostgreSQL 15 (pgtest) as
// Twenty's database with backup.database = "url", and the real backup
// manager. yarn and docker compose are fakes on PATH, symlinks to this test
// binary (the helper-process pattern), that do observably what the real ones
// do: build a dist/ marker from the checked-out VERSION, apply the checked-out
// migrations to the real database, and start or stop a small HTTP server (the
// test binary again) that answers Twenty's health endpoints.
//
// It skips, saying why, without git or the PostgreSQL binaries.
package sourcee2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Environment of the fakes (set by the test, inherited through the engine).
const (
	envWorld = "SOURCEE2E_WORLD" // folder with server.pid, server.log, calls.log
	envDB    = "SOURCEE2E_DB"    // postgres:// URL of Twenty's database
	envPort  = "SOURCEE2E_PORT"  // loopback port the fake server listens on
	envDir   = "SOURCEE2E_DIR"   // install.dir (the checkout)
)

// serverName is argv[0] of the fake Twenty server process.
const serverName = "fake-twenty-server"

// TestMain dispatches on argv[0]: as yarn, docker or the server, the test
// binary is a fake program; otherwise it runs the tests.
func TestMain(m *testing.M) {
	var code int
	switch filepath.Base(os.Args[0]) {
	case "yarn":
		code = fakeYarn(os.Args[1:])
	case "npx":
		code = fakeNpx(os.Args[1:])
	case "docker":
		code = fakeDocker(os.Args[1:])
	case serverName:
		code = fakeServer()
	default:
		os.Exit(m.Run())
	}
	os.Exit(code)
}

// fail prints a fake program's error the way a real one would and returns
// its exit code.
func fail(prog string, err error) int {
	fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	return 1
}
