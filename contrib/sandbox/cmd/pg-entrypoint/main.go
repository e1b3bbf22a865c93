// Command pg-entrypoint is the entry point of the sandbox's PostgreSQL image,
// a FROM scratch image assembled from this machine's PostgreSQL 15 files. On
// first start it initialises the data folder (user postgres, database
// "default", like Twenty's compose), then it replaces itself with postgres in
// the foreground, listening on every address of the sandbox network.
//
// Authentication is trust on the sandbox network unless
// POSTGRES_HOST_AUTH_METHOD says otherwise: this is a throwaway test stack.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const (
	pgBin  = "/usr/lib/postgresql/15/bin"
	pgUID  = 999
	pgGID  = 999
	runDir = "/var/run/postgresql"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pg-entrypoint:", err)
		os.Exit(1)
	}
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	data := getenv("PGDATA", "/var/lib/postgresql/data")
	if os.Getuid() == 0 {
		if err := prepareAsRoot(data); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); os.IsNotExist(err) {
		if err := initialise(data); err != nil {
			return err
		}
	}
	argv := append([]string{"postgres", "-D", data, "-c", "listen_addresses=*",
		"-c", "unix_socket_directories=" + runDir, "-c", "jit=off"}, args...)
	fmt.Fprintln(os.Stderr, "pg-entrypoint: starting", strings.Join(argv, " "))
	return syscall.Exec(pgBin+"/postgres", argv, os.Environ())
}

// prepareAsRoot makes the data and socket folders belong to postgres, then
// drops to that user: postgres refuses to run as root.
func prepareAsRoot(data string) error {
	for _, dir := range []string{data, runDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, pgUID, pgGID)
		}); err != nil {
			return fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}
	if err := os.Chmod(data, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", data, err)
	}
	if err := os.Chmod(runDir, 0o2775); err != nil {
		return fmt.Errorf("chmod %s: %w", runDir, err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop groups: %w", err)
	}
	if err := syscall.Setgid(pgGID); err != nil {
		return fmt.Errorf("setgid postgres: %w", err)
	}
	if err := syscall.Setuid(pgUID); err != nil {
		return fmt.Errorf("setuid postgres: %w", err)
	}
	return os.Setenv("HOME", "/var/lib/postgresql")
}

// initialise runs initdb, opens the network in pg_hba.conf and creates the
// application database with postgres in single-user mode (no server yet).
func initialise(data string) error {
	user := getenv("POSTGRES_USER", "postgres")
	args := []string{"initdb", "-D", data, "-U", user, "--encoding=UTF8", "--locale=C", "--auth-local=trust"}
	method := getenv("POSTGRES_HOST_AUTH_METHOD", "trust")
	if pw := os.Getenv("POSTGRES_PASSWORD"); pw != "" && method != "trust" {
		pwfile := filepath.Join(os.TempDir(), "pg-password")
		if err := os.WriteFile(pwfile, []byte(pw+"\n"), 0o600); err != nil {
			return fmt.Errorf("write password file: %w", err)
		}
		defer os.Remove(pwfile)
		args = append(args, "--pwfile="+pwfile)
	}
	if err := spawn(args, ""); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open pg_hba.conf: %w", err)
	}
	_, err = fmt.Fprintf(hba, "\n# sandbox network\nhost all all all %s\n", method)
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	db := getenv("POSTGRES_DB", "default")
	if db == user {
		return nil
	}
	sql := fmt.Sprintf("CREATE DATABASE \"%s\";\n", strings.ReplaceAll(db, `"`, `""`))
	if err := spawn([]string{"postgres", "--single", "-D", data, "-j", "postgres"}, sql); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	fmt.Fprintf(os.Stderr, "pg-entrypoint: initialised %s with database %q\n", data, db)
	return nil
}

// spawn runs one PostgreSQL program to completion, feeding it stdin.
func spawn(argv []string, stdin string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	p, err := os.StartProcess(pgBin+"/"+argv[0], argv, &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{r, os.Stderr, os.Stderr},
	})
	r.Close()
	if err != nil {
		w.Close()
		return err
	}
	_, _ = w.WriteString(stdin)
	w.Close()
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("%s exited with %s", argv[0], st)
	}
	return nil
}
