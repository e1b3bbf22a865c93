package sourcee2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// The fakes keep Twenty's layout: the build output is
// packages/twenty-server/dist, the migrations are the tree's migrations/*.sql
// (applied in name order, recorded in table _migrations, like TypeORM's).
const distMarker = "packages/twenty-server/dist/VERSION"

func world(name string) string { return filepath.Join(os.Getenv(envWorld), name) }

// record appends one call to calls.log, so tests can see what ran.
func record(prog string, args []string) {
	f, err := os.OpenFile(world("calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(f, "%s %s\n", prog, strings.Join(args, " "))
		f.Close()
	}
}

// psql runs script against Twenty's database, stopping at the first error
// and without a transaction around it (a failing migration half-applies).
func psql(script string) (string, error) {
	res, err := proc.Exec{}.Run(context.Background(), proc.Cmd{
		Argv:    []string{"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", os.Getenv(envDB)},
		Stdin:   strings.NewReader(script),
		Timeout: time.Minute,
	})
	return strings.TrimSpace(string(res.Stdout)), err
}

// fakeYarn is yarn in a checkout of Twenty: install, clean, build,
// database:migrate:prod and command:prod (cache:flush, upgrade:status).
func fakeYarn(args []string) int {
	record("yarn", args)
	dir, err := os.Getwd()
	if err != nil {
		return fail("yarn", err)
	}
	switch strings.Join(args, " ") {
	case "install":
		err = writeFile(filepath.Join(dir, "node_modules", ".installed"), readVersion(dir))
	case "clean":
		err = os.RemoveAll(filepath.Join(dir, filepath.Dir(distMarker)))
	case "build":
		err = build(dir)
	case "database:migrate:prod":
		err = migrate(dir)
	case "command:prod cache:flush":
		fmt.Println("cache flushed")
	case "command:prod upgrade:status":
		var out string
		out, err = upgradeStatus(dir)
		fmt.Println(out)
	default:
		err = fmt.Errorf("unknown command %q", strings.Join(args, " "))
	}
	if err != nil {
		return fail("yarn", err)
	}
	return 0
}

func readVersion(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "VERSION"))
	return strings.TrimSpace(string(b))
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content+"\n"), 0o644)
}

// build needs the installed dependencies of this version and writes the
// dist marker with the checked-out VERSION.
func build(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", ".installed"))
	if err != nil {
		return fmt.Errorf("dependencies not installed (run yarn install): %w", err)
	}
	if v := readVersion(dir); strings.TrimSpace(string(b)) != v {
		return fmt.Errorf("node_modules is for %s, the checkout is %s: run yarn install", strings.TrimSpace(string(b)), v)
	}
	if msg, err := os.ReadFile(filepath.Join(dir, "BUILD_FAILS")); err == nil {
		return fmt.Errorf("build failed: %s", strings.TrimSpace(string(msg)))
	}
	return writeFile(filepath.Join(dir, distMarker), readVersion(dir))
}

// migrations lists the checkout's migration names in order.
func migrations(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "migrations", "*.sql"))
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	slices.Sort(names)
	return names, err
}

// migrate applies each migration of the checkout not yet in _migrations.
func migrate(dir string) error {
	if _, err := psql("CREATE TABLE IF NOT EXISTS _migrations (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())"); err != nil {
		return err
	}
	names, err := migrations(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		done, err := psql(fmt.Sprintf("SELECT count(*) FROM _migrations WHERE name = '%s'", n))
		if err != nil {
			return err
		}
		if done == "1" {
			continue
		}
		sql, err := os.ReadFile(filepath.Join(dir, "migrations", n))
		if err != nil {
			return err
		}
		if _, err := psql(string(sql)); err != nil {
			return fmt.Errorf("migration %s failed: %w", n, err)
		}
		if _, err := psql(fmt.Sprintf("INSERT INTO _migrations (name) VALUES ('%s')", n)); err != nil {
			return err
		}
		fmt.Println("applied migration", n)
	}
	return nil
}

// upgradeStatus is Twenty's upgrade:status: up to date when the database
// has exactly the checkout's migrations.
func upgradeStatus(dir string) (string, error) {
	want, err := migrations(dir)
	if err != nil {
		return "", err
	}
	got, err := psql("SELECT name FROM _migrations ORDER BY name")
	if err != nil {
		return "", err
	}
	applied := strings.Fields(got)
	behind := 0
	for _, n := range want {
		if !slices.Contains(applied, n) {
			behind++
		}
	}
	if behind == 0 && len(applied) == len(want) {
		return "Instance: Up to date\n0 behind, 0 failed", nil
	}
	return fmt.Sprintf("Instance: Behind\n%d behind, 0 failed (database has %d migrations, checkout %d)", behind, len(applied), len(want)), nil
}

// errNotRunning is what compose says about a stopped service.
var errNotRunning = errors.New("service \"server\" is not running")
