// Package pgtest runs a private PostgreSQL cluster for tests and benchmarks:
// initdb into a folder, postgres on a free loopback port with trust
// authentication, stopped when the test ends. It uses Debian's packaged
// binaries (postgresql-15); tests skip with the reason when they are missing.
//
// As root, initdb and postgres run as the `postgres` user through runuser,
// since PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// BinDir is where Debian's postgresql-15 puts the server binaries.
var BinDir = "/usr/lib/postgresql/15/bin"

// Cluster is a running private PostgreSQL.
type Cluster struct {
	Dir  string // the folder holding data/ and the socket
	Port int
	r    proc.Runner
}

// Available reports why the binaries cannot be used ("" when they can).
func Available() string {
	for _, b := range []string{"initdb", "pg_ctl", "postgres", "psql", "pg_dump", "pg_restore"} {
		if _, err := os.Stat(filepath.Join(BinDir, b)); err != nil {
			return fmt.Sprintf("PostgreSQL binaries missing (%v): install postgresql-15 (make ci-deps)", err)
		}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return "running as root but there is no postgres user to run the server as"
		}
		if _, err := proc.LookPath("runuser"); err != nil {
			return "running as root but runuser is missing"
		}
	}
	return ""
}

// New starts a fresh cluster in a temporary folder and stops it (and removes
// the folder) when t ends; it skips t when the binaries are missing.
func New(t testing.TB) *Cluster {
	t.Helper()
	if why := Available(); why != "" {
		testreq.Missing(t, why)
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(dir, "fsync=off") // tests need no durability, only speed
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop test postgres: %v", err)
		}
		os.RemoveAll(dir)
	})
	return c
}

// Start initialises dir (unless it already holds a cluster, so a benchmark
// can keep its generated data) and starts postgres on a free port, with
// extra server settings ("fsync=off").
func Start(dir string, settings ...string) (*Cluster, error) {
	c := &Cluster{Dir: dir, r: proc.Exec{KillGrace: 5 * time.Second}}
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := c.chownToPostgres(dir); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		_, err := c.run(ctx, time.Minute, filepath.Join(BinDir, "initdb"), "-D", data, "--auth=trust",
			"--username=postgres", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
		if err != nil {
			return nil, fmt.Errorf("initdb: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c.Port = port
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_wal_size=4GB", port, dir)
	for _, s := range settings {
		opts += " -c " + s
	}
	_, err = c.run(ctx, time.Minute, filepath.Join(BinDir, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"),
		"-o", opts, "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return nil, fmt.Errorf("start postgres: %w: %s", err, tail(string(log)))
	}
	return c, nil
}

// Stop stops the server (fast shutdown).
func (c *Cluster) Stop() error {
	_, err := c.run(context.Background(), time.Minute, filepath.Join(BinDir, "pg_ctl"), "-D", filepath.Join(c.Dir, "data"), "-m", "fast", "-w", "stop")
	return err
}

// URL is a connection URL for database db as the postgres superuser.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// SQL runs script in database db through psql (stopping at the first error)
// and returns its unaligned, tuples-only output.
func (c *Cluster) SQL(db, script string) (string, error) {
	res, err := c.r.Run(context.Background(), proc.Cmd{
		Argv:    []string{filepath.Join(BinDir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", c.URL(db)},
		Stdin:   strings.NewReader(script),
		Timeout: 30 * time.Minute,
	})
	return strings.TrimSpace(string(res.Stdout)), err
}

// MustSQL is SQL that fails t on error.
func (c *Cluster) MustSQL(t testing.TB, db, script string) string {
	t.Helper()
	out, err := c.SQL(db, script)
	if err != nil {
		t.Fatalf("sql in %s: %v", db, err)
	}
	return out
}

// run runs a server binary, as the postgres user when we are root.
func (c *Cluster) run(ctx context.Context, timeout time.Duration, argv ...string) (proc.Result, error) {
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	return c.r.Run(ctx, proc.Cmd{Argv: argv, Dir: c.Dir, Timeout: timeout})
}

func (c *Cluster) chownToPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
