package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install/installtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// fakeDocker writes a `docker` on PATH that plays the compose install: `exec
// -T db TOOL` runs the real PostgreSQL tool against the test cluster (and
// fails without -T, as a TTY would corrupt a dump), `volume inspect` answers
// the files folder, `cp` copies into a folder standing for the container's
// filesystem. Every call is logged for assertions.
func fakeDocker(t *testing.T, f *fixture) (logPath string) {
	t.Helper()
	f.cfg.Backup.Database = "compose"
	f.cfg.Backup.DatabaseURL = ""
	f.cfg.Backup.Files = "" // the default volume, answered by the fake
	f.writeComposeConfig(t)
	return f.dockerLog
}

// writeComposeConfig is what the fake `compose config` answers: Twenty's
// compose file resolved with the fixture's .env as it is now.
func (f *fixture) writeComposeConfig(t *testing.T) {
	t.Helper()
	env, err := os.ReadFile(f.cfg.Install.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.composeJSON, installtest.ComposeJSON(f.cfg.Install.Project, envfile.All(env)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// installFakeDocker puts the fake docker on PATH (every fixture has it: the
// install model reads compose's version and config even in url mode).
func installFakeDocker(t *testing.T, f *fixture) (logPath string) {
	t.Helper()
	bin := t.TempDir()
	root := t.TempDir() // the db container's filesystem
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	logPath = filepath.Join(bin, "calls.log")
	composeJSON := filepath.Join(bin, "config.json")
	f.composeJSON = composeJSON
	f.writeComposeConfig(t)
	script := fmt.Sprintf(`#!/bin/bash
echo "$*" >> %[1]q
export PGHOST=127.0.0.1 PGPORT=%[2]d
ROOT=%[3]q
rewrite() { for a in "$@"; do case "$a" in /tmp/twenty-upgraded-*) printf '%%s\0' "$ROOT$a";; *) printf '%%s\0' "$a";; esac; done; }
case "$1" in
compose)
  shift
  while [ $# -gt 0 ]; do case "$1" in --project-name|--file|--project-directory|--env-file) shift 2;; *) break;; esac; done
  cmd=$1; shift
  case "$cmd" in
  version) [ "$1" = --short ] && echo "2.99.0" || echo "Docker Compose version v2.99.0-fake";;
  config) cat %[6]q;;
  ps) [ "$2" = db ] && echo fakedbcontainer || echo "fake-$2";;
  stop|start|up) ;;
  exec)
    [ "$1" = -T ] || { echo "fake docker: exec without -T" >&2; exit 9; }
    shift
    while [ "$1" = -e ]; do export "$2"; shift 2; done
    svc=$1; tool=$2; shift 2
    [ "$svc" = db ] || { echo "fake docker: exec in $svc" >&2; exit 9; }
    mapfile -d '' args < <(rewrite "$@")
    case "$tool" in
    rm) exec rm "${args[@]}";;
    *) exec %[4]q/"$tool" "${args[@]}";;
    esac;;
  *) echo "fake docker: compose $cmd" >&2; exit 9;;
  esac;;
exec)
  # docker exec -i ID TOOL: the db container on the ID compose ps gave
  shift
  [ "$1" = -i ] || { echo "fake docker: exec without -i" >&2; exit 9; }
  shift
  while [ "$1" = -e ]; do export "$2"; shift 2; done
  cid=$1; tool=$2; shift 2
  [ "$cid" = fakedbcontainer ] || { echo "Error response from daemon: No such container: $cid" >&2; exit 1; }
  mapfile -d '' args < <(rewrite "$@")
  case "$tool" in
  rm) exec rm "${args[@]}";;
  *) exec %[4]q/"$tool" "${args[@]}";;
  esac;;
volume) echo %[5]q;;
image) [ -z "$FAKE_NO_IMAGES" ] || { echo "Error: No such image: $5" >&2; exit 1; }; echo sha256:fakeimage;;
create) printf '%%s\n' "$@" > "$ROOT/files-container.args"; echo fakefilescontainer;;
start)
  # the one-off files container: the helper copied in by cp, run on the
  # folder that stands for the volume (its last two arguments: ACTION /volume)
  mapfile -t cargs < "$ROOT/files-container.args"
  n=${#cargs[@]}
  if [ "${cargs[$((n-2))]}" = "$FAKE_FILES_FAIL" ]; then
    echo "twenty-upgraded-files: open /volume/.twenty-upgraded-probe-1: read-only file system" >&2; exit 1
  fi
  exec -a twenty-upgraded-files "$ROOT/twenty-upgraded-files" "${cargs[$((n-2))]}" %[5]q;;
rm) [ -f "$ROOT/files-container.args" ] || { echo "Error: No such container: $3" >&2; exit 1; }; rm -f "$ROOT/files-container.args";;
cp) cp "$2" "$ROOT${3#*:}";;
*) echo "fake docker: $1" >&2; exit 9;;
esac
`, logPath, f.pg.Port, root, "/usr/lib/postgresql/15/bin", f.files, composeJSON)
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return logPath
}

func TestRoundTripCompose(t *testing.T) {
	f := newFixture(t)
	f.copyDumps = true
	logPath := fakeDocker(t, f)
	set := roundTrip(t, f)
	if set.Manifest.DatabaseMode != "compose" || set.Manifest.FilesSource != "twenty_server-local-data" {
		t.Errorf("manifest database_mode %q files_source %q", set.Manifest.DatabaseMode, set.Manifest.FilesSource)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	calls := string(b)
	for _, want := range []string{
		// Every database command runs on the db container's ID, resolved once.
		"exec -i fakedbcontainer pg_dump -U postgres -d default --format=custom",
		"exec -i fakedbcontainer pg_dumpall -U postgres --globals-only",
		"volume inspect --format {{.Mountpoint}} twenty_server-local-data",
		"cp " + set.Dir + "/db-default.dump fakedbcontainer:/tmp/twenty-upgraded-restore-db-default.dump",
		"exec -i -e PGOPTIONS=-c maintenance_work_mem=128MB -c synchronous_commit=off fakedbcontainer pg_restore -U postgres -d template1 --create --jobs=2 /tmp/twenty-upgraded-restore-db-default.dump",
		"exec -i fakedbcontainer rm -f /tmp/twenty-upgraded-restore-db-default.dump",
		// The files go back through a one-off container of the set's image,
		// never through the volume's host folder.
		"image inspect --format {{.Id}} sha256:abc",
		"create --rm --interactive --name twenty-upgraded-files-twenty --label twenty-upgraded.files=twenty --pull never --network none --user 0:0 --log-driver none --security-opt no-new-privileges --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add FSETID --mount type=volume,src=twenty_server-local-data,dst=/volume,volume-nocopy --entrypoint /twenty-upgraded-files sha256:fakeimage probe /volume",
		"--entrypoint /twenty-upgraded-files sha256:fakeimage restore /volume",
		"cp " + filesHelper(t) + " fakefilescontainer:/twenty-upgraded-files",
		"start --attach --interactive fakefilescontainer",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("no call %q in:\n%s", want, calls)
		}
	}
	// Every target is proved writable before the restore changes anything.
	probe, drop := strings.Index(calls, "probe /volume"), strings.Index(calls, `drop database if exists "default"`)
	privileges := strings.Index(calls, "pg_signal_backend")
	if probe < 0 || privileges < 0 || drop < 0 || probe > drop || privileges > drop {
		t.Errorf("the probes (files at %d, privileges at %d) do not come before the first drop (at %d)", probe, privileges, drop)
	}
	for _, l := range strings.Split(calls, "\n") {
		if strings.Contains(l, " -t ") || strings.Contains(l, " -it ") {
			t.Errorf("a TTY was requested: %s", l)
		}
	}
}

// TestRoundTripComposeSmallDump: a small dump is restored from stdin in
// one job, with nothing copied into the container; every database command
// runs on the container's ID, none through compose.
func TestRoundTripComposeSmallDump(t *testing.T) {
	f := newFixture(t)
	logPath := fakeDocker(t, f)
	roundTrip(t, f)
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	calls := string(b)
	want := "exec -i -e PGOPTIONS=-c maintenance_work_mem=128MB -c synchronous_commit=off fakedbcontainer pg_restore -U postgres -d template1 --create\n"
	if !strings.Contains(calls, want) {
		t.Errorf("no call %q in:\n%s", want, calls)
	}
	for _, l := range strings.Split(calls, "\n") {
		if strings.Contains(l, "twenty-upgraded-restore-") || strings.Contains(l, " exec -T ") {
			t.Errorf("unexpected call: %s", l)
		}
	}
}

// TestStaleDBContainerID: the db container was recreated since its ID was
// read before the stop; the first command notices and reads it again.
func TestStaleDBContainerID(t *testing.T) {
	f := newFixture(t)
	fakeDocker(t, f)
	f.cfg.Backup.Verify = "list"
	ctx := context.Background()
	m := f.manager(t)
	if err := m.CheckSpace(ctx); err != nil {
		t.Fatal(err)
	}
	m.facts.container = "recreated0000"
	set, err := m.Create(ctx, Meta{Version: version.MustParse("v1.22.6")})
	if err != nil {
		t.Fatalf("create with a stale container ID: %v", err)
	}
	if m.facts.container != "fakedbcontainer" {
		t.Errorf("container ID %q after create, want fakedbcontainer", m.facts.container)
	}
	m.facts.container = "recreated0000"
	if err := m.Restore(ctx, set.ID, allBack); err != nil {
		t.Fatalf("restore with a stale container ID: %v", err)
	}
}

// TestS3FilesSaidNotArchived: with STORAGE_TYPE=s3 the uploaded files are in
// S3: the set holds no files archive and its manifest says why.
func TestS3FilesSaidNotArchived(t *testing.T) {
	f := newFixture(t)
	mustWrite(t, f.cfg.Install.EnvFile, "TAG=v1.22.6\nAPP_SECRET=s3cret\nSTORAGE_TYPE=s3\nSTORAGE_S3_NAME=bucket\n", 0o600)
	fakeDocker(t, f)
	f.cfg.Backup.Verify = "list"
	set, err := f.manager(t).Create(context.Background(), Meta{Version: version.MustParse("v1.22.6")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Manifest.File("files.tar"); ok || set.Manifest.FilesSource != "" {
		t.Errorf("an S3 install's set archived files from %q", set.Manifest.FilesSource)
	}
	if len(set.Manifest.Notes) != 1 || !strings.Contains(set.Manifest.Notes[0], "S3") {
		t.Errorf("manifest notes %q do not say the files are in S3", set.Manifest.Notes)
	}
}

// TestTwentyDatabaseMustBeInSet: a backup that would not hold the database
// Twenty uses (here: the compose file names one the server lacks) fails.
func TestTwentyDatabaseMustBeInSet(t *testing.T) {
	f := newFixture(t)
	fakeDocker(t, f)
	in, err := install.Open(context.Background(), f.cfg, proc.Exec{})
	if err != nil {
		t.Fatal(err)
	}
	in.Spec.Database.Name = "twenty_prod"
	_, err = f.manager(t).Create(context.Background(), Meta{Version: version.MustParse("v1.22.6"), Install: in})
	if err == nil || !strings.Contains(err.Error(), `"twenty_prod"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestDescribeIsWhatCreateRuns: the dry run's account of a backup
// (Describe) names exactly the commands Create runs and the files it
// writes, because both come from the same builders.
func TestDescribeIsWhatCreateRuns(t *testing.T) {
	f := newFixture(t)
	logPath := fakeDocker(t, f)
	ctx := context.Background()
	in, err := install.Open(ctx, f.cfg, proc.Exec{})
	if err != nil {
		t.Fatal(err)
	}
	m := f.manager(t)
	acts := m.Describe(ctx, in)
	before, _ := os.ReadFile(logPath)
	set, err := m.Create(ctx, Meta{Version: version.MustParse("v1.22.6"), Install: in})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(logPath)
	calls := strings.TrimPrefix(string(b), string(before))
	var described, written []string
	for _, a := range acts {
		if strings.HasPrefix(a.What, "!") {
			t.Errorf("Describe: %s", a.What)
		}
		if len(a.Cmd.Argv) > 0 && !strings.Contains(calls, strings.Join(a.Cmd.Argv[1:], " ")+"\n") {
			t.Errorf("Describe shows %q, which Create did not run:\n%s", a.Cmd.String(), calls)
		}
		if a.Into != "" {
			described = append(described, a.Into)
		}
	}
	for _, fl := range set.Manifest.Files {
		written = append(written, fl.Name)
	}
	slices.Sort(described)
	slices.Sort(written)
	if !slices.Equal(described, written) || len(written) < 4 {
		t.Errorf("Describe names the files %v, Create wrote %v", described, written)
	}
}
