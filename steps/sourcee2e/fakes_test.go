package sourcee2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// The fakes keep Twenty's monorepo layout (docs/twenty.md, "Source mode"):
// the root package.json has workspaces and no clean or build script; the
// build is Nx and its output is packages/twenty-server/dist; the server's
// scripts (database:migrate:prod, command:prod) live in
// packages/twenty-server/package.json, whose "version" is the release. The
// core migrations are packages/twenty-server/migrations/*.sql (applied in
// name order, recorded in table _migrations, like TypeORM's).
const (
	serverDir  = "packages/twenty-server"
	distMarker = serverDir + "/dist/VERSION"
	frontBuilt = "packages/twenty-front/build/index.html"
)

func world(name string) string { return filepath.Join(os.Getenv(envWorld), name) }

// record appends one call to calls.log, with the folder it ran in relative
// to the checkout, so tests can see what ran where.
func record(prog string, args []string) {
	f, err := os.OpenFile(world("calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	where := "."
	if wd, err := os.Getwd(); err == nil {
		if root, err := checkoutRoot(wd); err == nil {
			where, _ = filepath.Rel(root, wd)
		}
	}
	fmt.Fprintf(f, "%s %s   [in %s]\n", prog, strings.Join(args, " "), where)
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

type pkg struct {
	Version    string            `json:"version"`
	Workspaces []string          `json:"workspaces"`
	Scripts    map[string]string `json:"scripts"`
}

func readPkg(dir string) (pkg, error) {
	var p pkg
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// checkoutRoot is the monorepo root above dir: the package.json with
// workspaces (the install folder or an early-build worktree).
func checkoutRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if p, err := readPkg(d); err == nil && len(p.Workspaces) > 0 {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the Twenty monorepo", dir)
		}
	}
}

// fakeYarn is yarn in a checkout of Twenty. Like the real one it runs only
// scripts of the package.json in its folder: `yarn clean` at the root fails
// with yarn's own message, since the root has no clean script.
func fakeYarn(args []string) int {
	record("yarn", args)
	dir, err := os.Getwd()
	if err != nil {
		return fail("yarn", err)
	}
	root, err := checkoutRoot(dir)
	if err != nil {
		return fail("yarn", err)
	}
	if len(args) == 1 && args[0] == "install" {
		if dir != root {
			return fail("yarn", fmt.Errorf("run yarn install at the workspace root %s", root))
		}
		if err := writeFile(filepath.Join(dir, "node_modules", ".installed"), readVersion(root)); err != nil {
			return fail("yarn", err)
		}
		return 0
	}
	p, err := readPkg(dir)
	if err != nil || len(args) == 0 || p.Scripts[args[0]] == "" {
		fmt.Fprintf(os.Stdout, "Usage Error: Couldn't find a script named %q.\n", strings.Join(args[:min(1, len(args))], ""))
		return 1
	}
	switch strings.Join(args, " ") {
	case "database:migrate:prod":
		err = migrate(root)
	case "command:prod upgrade":
		err = built(root)
		if err == nil {
			fmt.Println("Upgrade completed: workspaces are at", readVersion(root))
		}
	case "command:prod cache:flush":
		fmt.Println("cache flushed")
	case "command:prod upgrade:status":
		var out string
		out, err = upgradeStatus(root)
		fmt.Println(out)
	default:
		err = fmt.Errorf("the fake has no %q", strings.Join(args, " "))
	}
	if err != nil {
		return fail("yarn", err)
	}
	return 0
}

// fakeNpx is `npx nx build twenty-server|twenty-front` at the root.
func fakeNpx(args []string) int {
	record("npx", args)
	dir, err := os.Getwd()
	if err != nil {
		return fail("npx", err)
	}
	root, err := checkoutRoot(dir)
	if err != nil {
		return fail("npx", err)
	}
	switch strings.Join(args, " ") {
	case "nx build twenty-server":
		err = build(root)
	case "nx build twenty-front":
		err = writeFile(filepath.Join(root, frontBuilt), readVersion(root))
	default:
		err = fmt.Errorf("the fake has no %q", strings.Join(args, " "))
	}
	if err != nil {
		return fail("npx", err)
	}
	return 0
}

// readVersion is the release of the checkout at root: v + the server
// package's version.
func readVersion(root string) string {
	p, _ := readPkg(filepath.Join(root, serverDir))
	return "v" + p.Version
}

// built fails unless the server build matches the checkout.
func built(root string) error {
	b, err := os.ReadFile(filepath.Join(root, distMarker))
	if err != nil {
		return fmt.Errorf("no build output (%w): run npx nx build twenty-server", err)
	}
	if got := strings.TrimSpace(string(b)); got != readVersion(root) {
		return fmt.Errorf("dist is %s, the checkout is %s", got, readVersion(root))
	}
	return nil
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
	names, err := filepath.Glob(filepath.Join(dir, serverDir, "migrations", "*.sql"))
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
		sql, err := os.ReadFile(filepath.Join(dir, serverDir, "migrations", n))
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
