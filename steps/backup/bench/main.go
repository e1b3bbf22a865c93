// Command bench compares twenty-upgraded's backup and restore with the raw
// PostgreSQL tools on a generated Twenty-like database (about 15 MiB per
// scale unit: -scale 70 ≈ 1 GiB) and prints the times and ratios.
//
// The generated cluster is kept in -cache so later runs skip the generation.
// Run it with `make bench`; it is not a timed test.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup/pgtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func main() {
	scale := flag.Int("scale", 70, "size in units of about 15 MiB (70 ≈ 1 GiB)")
	cache := flag.String("cache", "/var/tmp/twenty-upgraded-pgbench", "folder keeping the generated cluster between runs")
	rounds := flag.Int("rounds", 2, "run every measurement this many times and report the best")
	flag.Parse()
	if err := run(*scale, *cache, max(*rounds, 1)); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	c    *pgtest.Cluster
	r    proc.Runner
	work string
	jobs int
}

func run(scale int, cache string, rounds int) error {
	if why := pgtest.Available(); why != "" {
		return fmt.Errorf("cannot run: %s", why)
	}
	dir := filepath.Join(cache, "s"+strconv.Itoa(scale))
	c, err := pgtest.Start(dir)
	if err != nil {
		return err
	}
	defer c.Stop()
	b := &bench{c: c, r: proc.Exec{}, jobs: min(max(runtime.NumCPU(), 1), 8)}
	if err := b.generate(scale); err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp("", "twenty-upgraded-bench-work-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	size, _ := c.SQL("postgres", `select pg_size_pretty(pg_database_size('default'))`)
	fmt.Printf("database: scale %d, %s; %d CPUs, pg_restore -j %d\n\n", scale, size, runtime.NumCPU(), b.jobs)
	return b.compare(rounds)
}

// generate creates database "default" shaped like a Twenty workspace
// (uuid keys, text, jsonb, a foreign key, indexes; data that compresses like
// real text, unlike pgbench's blank filler) unless the cached cluster has it.
func (b *bench) generate(scale int) error {
	if out, _ := b.c.SQL("postgres", `select 1 from pg_database where datname = 'default'`); out == "1" {
		return nil
	}
	fmt.Printf("generating scale %d (once; kept in %s) ...\n", scale, b.c.Dir)
	start := time.Now()
	if _, err := b.c.SQL("postgres", `drop database if exists "bench_tmp"; create database "bench_tmp"`); err != nil {
		return err
	}
	rows := scale * 25000
	script := fmt.Sprintf(`
create extension if not exists pgcrypto;
create schema core;
create table core.workspace (id uuid primary key default gen_random_uuid(), name text not null);
insert into core.workspace (name) select 'Workspace ' || i from generate_series(1, 10) i;
create schema workspace_bench;
set search_path = workspace_bench;
create type stage as enum ('LEAD', 'CUSTOMER', 'CHURNED');
create table company (id int primary key, name text not null, stage stage not null, domain text);
insert into company select i, 'Company ' || i, (array['LEAD','CUSTOMER','CHURNED'])[1 + i %% 3]::stage, md5(i::text) || '.test'
  from generate_series(1, 100000) i;
create table person (id uuid primary key default gen_random_uuid(), "nameFirstName" text, "nameLastName" text,
  emails jsonb, "companyId" int references company(id), notes text, "createdAt" timestamptz not null);
insert into person ("nameFirstName", "nameLastName", emails, "companyId", notes, "createdAt")
  select 'First' || i, 'Last' || (i %% 9973), jsonb_build_object('primaryEmail', md5(i::text) || '@acme.test'),
    1 + i %% 100000, md5(random()::text) || ' ' || md5(random()::text) || ' ' || repeat(md5((i %% 1000)::text), 3),
    timestamptz '2024-01-01' + i * interval '1 second'
  from generate_series(1, %d) i;
create index on person ("companyId");
create index on person ((emails->>'primaryEmail'));
vacuum analyze;`, rows)
	if _, err := b.c.SQL("bench_tmp", script); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if _, err := b.c.SQL("postgres", `alter database "bench_tmp" rename to "default"`); err != nil {
		return err
	}
	fmt.Printf("generated in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func (b *bench) tool(out io.Writer, argv ...string) error {
	argv[0] = filepath.Join(pgtest.BinDir, argv[0])
	_, err := b.r.Run(context.Background(), proc.Cmd{Argv: argv, Stdout: out})
	return err
}

func (b *bench) manager() *backup.Manager {
	cfg := config.Default()
	cfg.Install.Dir, cfg.Install.EnvFile = b.work, filepath.Join(b.work, "env")
	_ = os.WriteFile(cfg.Install.EnvFile, []byte("TAG=v1.22.6\n"), 0o600)
	// The install model reads the compose file even with database = "url"
	// (for the compose copy and the files volume): Twenty's services, no more.
	_ = os.WriteFile(filepath.Join(b.work, "docker-compose.yml"), []byte(benchCompose), 0o600)
	cfg.Backup.Dir = filepath.Join(b.work, "backups")
	cfg.Backup.Database, cfg.Backup.DatabaseURL = "url", b.c.URL("default")
	cfg.Backup.Files, cfg.Backup.Verify = "none", "list"
	return backup.New(cfg, b.r, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: benchLogLevel()})))
}

const benchCompose = `services:
  server:
    image: twentycrm/twenty:${TAG}
  worker:
    image: twentycrm/twenty:${TAG}
  db:
    image: postgres:16
`

func (b *bench) drop() error {
	_, err := b.c.SQL("postgres", `drop database if exists "default" with (force)`)
	return err
}

// benchLogLevel is warn, or debug with BENCH_DEBUG=1 (every command with its
// duration, to see where a restore spends its time).
func benchLogLevel() slog.Level {
	if os.Getenv("BENCH_DEBUG") == "1" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}
