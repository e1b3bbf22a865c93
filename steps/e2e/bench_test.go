package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// TestBackupBench (make bench-backup-sandbox) measures the backup and the
// restore of the sandbox's small database the way a hop's downtime sees
// them: the writers stopped, what preflight asks before the stop done
// before the clock starts, then
//
//	ours:        Manager.Create (verify = list), Manager.Restore (database, files, .env)
//	raw compose: `<compose> exec -T db pg_dump -Fc -Z0` of every database the set holds and
//	             pg_dumpall --globals-only, tar of the files volume; the restore: psql of the
//	             globals, drop, docker cp, pg_restore -C -j of each, tar -x into the volume
//	raw docker:  the same through `docker exec` on the db container's ID
//
// Every command ours ran is printed with its start and duration (first
// round). Targets (issue 11): backup ≤ raw + 0.5 s. It prints figures; it
// is not a timed test.
func TestBackupBench(t *testing.T) {
	if os.Getenv("TWENTY_UPGRADED_BENCH") != "1" {
		t.Skip("backup benchmark on the sandbox: set TWENTY_UPGRADED_BENCH=1 (make bench-backup-sandbox)")
	}
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	s, cfg, root := seededStack(t, sandbox.Options{Tag: "v1.22.4"})
	ctx := context.Background()
	rec := &timedRunner{r: proc.Exec{}}
	level := slog.LevelWarn
	if os.Getenv("BENCH_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	m := backup.New(cfg, rec, log).WithFilesHelper(filesHelper(t))
	in, err := install.Open(ctx, cfg, proc.Exec{})
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBench{s: s, in: in, dir: filepath.Join(root, "raw")}
	if err := b.init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compose(ctx, "stop", "server", "worker"); err != nil {
		t.Fatal(err)
	}
	best := map[string]time.Duration{}
	keep := func(name string, d time.Duration) {
		if cur, ok := best[name]; !ok || d < cur {
			best[name] = d
		}
		t.Logf("%-34s %6.2fs", name, d.Seconds())
	}
	const (
		ourB, rawBC, rawBD = "ours backup", "raw backup (compose exec)", "raw backup (docker exec)"
		ourR, rawRC, rawRD = "ours restore", "raw restore (compose exec)", "raw restore (docker exec)"
		pre                = "ours before the stop (preflight)"
	)
	var size int64
	for round := 1; round <= rounds; round++ {
		for _, exe := range []string{"compose", "docker"} {
			d, err := b.backup(ctx, exe)
			if err != nil {
				t.Fatal(err)
			}
			keep(map[string]string{"compose": rawBC, "docker": rawBD}[exe], d)
		}
		rec.reset()
		start := time.Now()
		if err := m.CheckSpace(ctx); err != nil { // what the engine's preflight asks before the stop
			t.Fatal(err)
		}
		keep(pre, time.Since(start))
		if round == 1 {
			t.Logf("before the stop:\n%s", rec.report())
		}
		rec.reset()
		start = time.Now()
		set, err := m.Create(ctx, backup.Meta{Version: version.MustParse("v1.22.4"), Reason: "bench", Install: in})
		if err != nil {
			t.Fatal(err)
		}
		keep(ourB, time.Since(start))
		size = set.Size
		if round == 1 {
			t.Logf("ours backup:\n%s", rec.report())
		}
		for _, exe := range []string{"compose", "docker"} {
			d, err := b.restore(ctx, exe)
			if err != nil {
				t.Fatal(err)
			}
			keep(map[string]string{"compose": rawRC, "docker": rawRD}[exe], d)
		}
		rec.reset()
		start = time.Now()
		if err := m.Restore(ctx, set.ID, backup.RestoreOptions{Database: true, Files: true, Env: true, Install: in}); err != nil {
			t.Fatal(err)
		}
		keep(ourR, time.Since(start))
		if round == 1 {
			t.Logf("ours restore:\n%s", rec.report())
		}
		if err := os.RemoveAll(set.Dir); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("bench: sandbox backup and restore, small database (%s set: databases %s, files volume), best of %d, seconds\n",
		backup.HumanBytes(size), strings.Join(b.dbs, ", "), rounds)
	for _, n := range []string{pre, rawBC, rawBD, ourB, rawRC, rawRD, ourR} {
		fmt.Printf("bench:   %-34s %6.2f\n", n, best[n].Seconds())
	}
	sec := func(n string) float64 { return best[n].Seconds() }
	fmt.Printf("bench: backup  ours − raw (compose exec) = %+.2fs, ratio %.2f (target ≤ raw + 0.5 s: %s)\n",
		sec(ourB)-sec(rawBC), sec(ourB)/sec(rawBC), verdict(sec(ourB) <= sec(rawBC)+0.5))
	fmt.Printf("bench: backup  ours − raw (docker exec)  = %+.2fs, ratio %.2f\n", sec(ourB)-sec(rawBD), sec(ourB)/sec(rawBD))
	fmt.Printf("bench: restore ours − raw (compose exec) = %+.2fs, ratio %.2f\n", sec(ourR)-sec(rawRC), sec(ourR)/sec(rawRC))
	fmt.Printf("bench: restore ours − raw (docker exec)  = %+.2fs, ratio %.2f\n", sec(ourR)-sec(rawRD), sec(ourR)/sec(rawRD))

	if _, err := s.Compose(ctx, "up", "-d"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := s.WaitHealthy(wctx, "v1.22.4"); err != nil { // the worker's first heartbeat after the up
		t.Fatal(err)
	}
	healthyOn(t, s, "v1.22.4")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// rawBench is the baseline: the plain commands an admin would type.
type rawBench struct {
	s      *sandbox.Stack
	in     *install.Install
	dir    string
	dbs    []string // the databases our set holds (every one that takes connections)
	id     string   // the db container
	volume string   // host folder of the files volume
}

func (b *rawBench) init(ctx context.Context) error {
	out, err := b.s.Psql(ctx, "select datname from pg_database where not datistemplate and datallowconn order by 1")
	if err != nil {
		return err
	}
	b.dbs = strings.Fields(out)
	if b.id, err = b.in.ContainerID(ctx, b.in.DBSvc); err != nil {
		return err
	}
	res, err := proc.Exec{}.Run(ctx, b.in.VolumeMountpoint(b.in.Spec.FilesVolume))
	if err != nil {
		return err
	}
	b.volume = strings.TrimSpace(string(res.Stdout))
	return os.MkdirAll(b.dir, 0o700)
}

// exec is argv in the db container: `<compose> exec -T db` or `docker exec -i ID`.
func (b *rawBench) exec(how string, argv ...string) proc.Cmd {
	if how == "compose" {
		return proc.Cmd{Argv: b.in.ComposeArgs(append([]string{"exec", "-T", b.in.DBSvc}, argv...)...), Dir: b.in.Dir}
	}
	return proc.Cmd{Argv: append([]string{"docker", "exec", "-i", b.id}, argv...)}
}

func (b *rawBench) toFile(ctx context.Context, c proc.Cmd, name string) error {
	f, err := os.Create(filepath.Join(b.dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	c.Stdout = f
	if _, err := (proc.Exec{}).Run(ctx, c); err != nil {
		return err
	}
	return f.Sync()
}

func (b *rawBench) run(ctx context.Context, c proc.Cmd) error {
	_, err := proc.Exec{}.Run(ctx, c)
	return err
}

func (b *rawBench) backup(ctx context.Context, how string) (time.Duration, error) {
	start := time.Now()
	for _, db := range b.dbs {
		if err := b.toFile(ctx, b.exec(how, "pg_dump", "-U", "postgres", "-d", db, "-Fc", "-Z0"), "db-"+db+".dump"); err != nil {
			return 0, err
		}
	}
	if err := b.toFile(ctx, b.exec(how, "pg_dumpall", "-U", "postgres", "--globals-only"), "globals.sql"); err != nil {
		return 0, err
	}
	if err := b.run(ctx, proc.Cmd{Argv: []string{"tar", "-C", b.volume, "-cf", filepath.Join(b.dir, "files.tar"), "."}}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func (b *rawBench) restore(ctx context.Context, how string) (time.Duration, error) {
	start := time.Now()
	globals, err := os.Open(filepath.Join(b.dir, "globals.sql"))
	if err != nil {
		return 0, err
	}
	defer globals.Close()
	c := b.exec(how, "psql", "-U", "postgres", "-d", "postgres", "-X", "-q", "-f", "-")
	c.Stdin = globals
	if err := b.run(ctx, c); err != nil {
		return 0, err
	}
	for _, db := range b.dbs {
		admin := "postgres"
		if db == "postgres" {
			admin = "template1"
		}
		if err := b.run(ctx, b.exec(how, "psql", "-U", "postgres", "-d", admin, "-X", "-q", "-c", `DROP DATABASE IF EXISTS "`+db+`" WITH (FORCE)`)); err != nil {
			return 0, err
		}
		inside := "/tmp/raw-" + db + ".dump"
		if err := b.run(ctx, proc.Cmd{Argv: []string{"docker", "cp", filepath.Join(b.dir, "db-"+db+".dump"), b.id + ":" + inside}}); err != nil {
			return 0, err
		}
		if err := b.run(ctx, b.exec(how, "pg_restore", "-U", "postgres", "-d", admin, "--create", "--jobs=2", inside)); err != nil {
			return 0, err
		}
		if err := b.run(ctx, b.exec(how, "rm", "-f", inside)); err != nil {
			return 0, err
		}
	}
	if err := b.run(ctx, proc.Cmd{Argv: []string{"find", b.volume, "-mindepth", "1", "-delete"}}); err != nil {
		return 0, err
	}
	if err := b.run(ctx, proc.Cmd{Argv: []string{"tar", "-xpf", filepath.Join(b.dir, "files.tar"), "--numeric-owner", "-C", b.volume}}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// timedRunner records every command with its start and duration.
type timedRunner struct {
	r     proc.Runner
	mu    sync.Mutex
	t0    time.Time
	calls []timedCall
}

type timedCall struct {
	start, took time.Duration
	argv        string
	err         error
}

func (t *timedRunner) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.t0, t.calls = time.Now(), nil
}

func (t *timedRunner) Run(ctx context.Context, c proc.Cmd) (proc.Result, error) {
	start := time.Now()
	res, err := t.r.Run(ctx, c)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, timedCall{start: start.Sub(t.t0), took: time.Since(start), argv: shortArgv(c.Argv), err: err})
	return res, err
}

// report lists the calls by start time, with their count and total.
func (t *timedRunner) report() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	calls := append([]timedCall(nil), t.calls...)
	sort.Slice(calls, func(i, j int) bool { return calls[i].start < calls[j].start })
	var b strings.Builder
	var sum time.Duration
	for _, c := range calls {
		sum += c.took
		fmt.Fprintf(&b, "  +%5.2fs %5.2fs  %s", c.start.Seconds(), c.took.Seconds(), c.argv)
		if c.err != nil {
			fmt.Fprintf(&b, "  (error: %v)", c.err)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  %d commands, %.2fs of command time", len(calls), sum.Seconds())
	return b.String()
}

// shortArgv drops compose's project options and abbreviates long SQL.
func shortArgv(argv []string) string {
	var out []string
	for i := 0; i < len(argv); i++ {
		switch argv[i] {
		case "--project-name", "--file", "--project-directory", "--env-file":
			i++
			continue
		}
		a := argv[i]
		if len(a) > 60 {
			a = a[:57] + "..."
		}
		out = append(out, a)
	}
	return strings.Join(strings.Fields(strings.Join(out, " ")), " ")
}
