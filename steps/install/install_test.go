package install

import (
	"context"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install/installtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// needComposeV2 skips (fails under CI=true) without a docker compose v2.
func needComposeV2(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "compose", "version", "--short").Output()
	if err == nil && !strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), "1.") {
		return
	}
	msg := "docker compose v2 is not installed (make sandbox-tools builds it)"
	testreq.Missing(t, msg)
}

// era copies a conformance fixture (a compose file and .env shaped after
// Twenty's own at one era, installtest.ErasDir) into a fresh install folder,
// with .env edits.
func era(t *testing.T, name string, edits map[string]string) config.Config {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"docker-compose.yml", ".env"} {
		b, err := os.ReadFile(filepath.Join(installtest.ErasDir(), name, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == ".env" {
			for k, v := range edits {
				if b, err = envfile.Set(b, k, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Install.Dir, cfg.Install.EnvFile = dir, filepath.Join(dir, ".env")
	return cfg
}

// eraCases are the era fixtures and variants an admin's edits make, with
// what the install model must read from each.
var eraCases = []struct {
	name, era string
	edits     map[string]string
	image     string
	db        string
	external  bool
	storage   string
	secrets   []string
	services  []string
}{
	{"v0.5x", "v0.5x", nil, "twentycrm/twenty:v0.51.1", "postgres://postgres@db:5432/default", false, "local",
		[]string{"APP_SECRET", "PG_DATABASE_PASSWORD"}, []string{"change-vol-ownership", "db", "redis", "server", "worker"}},
	{"v1.x", "v1.x", nil, "twentycrm/twenty:v1.22.4", "postgres://postgres@db:5432/default", false, "local",
		[]string{"APP_SECRET", "PG_DATABASE_PASSWORD"}, []string{"db", "redis", "server", "worker"}},
	{"v1.x-external", "v1.x", map[string]string{"PG_DATABASE_HOST": "pg.internal", "PG_DATABASE_USER": "twenty", "PG_DATABASE_PORT": "6432"},
		"twentycrm/twenty:v1.22.4", "postgres://twenty@pg.internal:6432/default", true, "local",
		[]string{"APP_SECRET", "PG_DATABASE_PASSWORD"}, []string{"db", "redis", "server", "worker"}},
	{"v2.x", "v2.x", nil, "twentycrm/twenty:v2.40.1", "postgres://postgres@db:5432/default", false, "local",
		[]string{"APP_SECRET", "PG_DATABASE_PASSWORD"}, []string{"db", "redis", "server", "worker"}},
	{"v2.x-s3-alias-key", "v2.x", map[string]string{"TAG": "v2.40", "STORAGE_TYPE": "s3", "STORAGE_S3_NAME": "twenty-files",
		"STORAGE_S3_REGION": "eu-west-3", "ENCRYPTION_KEY": "ZGVkaWNhdGVkLWtleS1maXh0dXJl"},
		"twentycrm/twenty:v2.40", "postgres://postgres@db:5432/default", false, "s3",
		[]string{"APP_SECRET", "ENCRYPTION_KEY", "PG_DATABASE_PASSWORD"}, []string{"db", "redis", "server", "worker"}},
}

// TestErasWithRealCompose reads each era's install through the real
// `docker compose config`: services, image, database, storage, volume and
// secrets come out as Twenty's file means them.
func TestErasWithRealCompose(t *testing.T) {
	needComposeV2(t)
	for _, tc := range eraCases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Open(context.Background(), era(t, tc.era, tc.edits), proc.Exec{})
			if err != nil {
				t.Fatal(err)
			}
			s := in.Spec
			if s.From != "compose config" || s.Name != "twenty" || s.Image != tc.image || s.Database.URL() != tc.db ||
				s.Database.External != tc.external || s.Storage != tc.storage || s.FilesVolume != "twenty_server-local-data" || !slices.Equal(s.Services, tc.services) {
				t.Errorf("spec %+v", s)
			}
			if !slices.Equal(in.Secrets, tc.secrets) {
				t.Errorf("secrets %v, want %v", in.Secrets, tc.secrets)
			}
			if s.S3() != (tc.storage == "s3") {
				t.Errorf("S3() = %v", s.S3())
			}
		})
	}
}

// TestFakeComposeMatchesReal keeps installtest's fakes of `compose config`
// honest: for every era fixture and variant, the fake that reads the compose
// file gives the same Spec as the real compose, and the fixed-shape fake
// (Answer) the same as the real one for the v1.x file it is modelled on.
func TestFakeComposeMatchesReal(t *testing.T) {
	needComposeV2(t)
	fake := func(answer func(proc.Cmd) (proc.Result, bool, error)) *proc.Fake {
		return &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
			res, _, err := answer(c)
			return res, err
		}}
	}
	for _, tc := range eraCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := era(t, tc.era, tc.edits)
			real, err := Open(context.Background(), cfg, proc.Exec{})
			if err != nil {
				t.Fatal(err)
			}
			faked, err := Open(context.Background(), cfg, fake(installtest.AnswerFromFile))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(real.Spec, faked.Spec) {
				t.Errorf("file fake spec %+v\nreal spec %+v", faked.Spec, real.Spec)
			}
			if tc.era != "v1.x" {
				return
			}
			if faked, err = Open(context.Background(), cfg, fake(installtest.Answer)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(real.Spec, faked.Spec) {
				t.Errorf("fixed fake spec %+v\nreal spec %+v", faked.Spec, real.Spec)
			}
		})
	}
}

// TestErasWithFakeCompose is TestErasWithRealCompose through the fake, so
// the fixtures are read right where no compose is installed.
func TestErasWithFakeCompose(t *testing.T) {
	fake := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		res, _, err := installtest.AnswerFromFile(c)
		return res, err
	}}
	for _, tc := range eraCases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Open(context.Background(), era(t, tc.era, tc.edits), fake)
			if err != nil {
				t.Fatal(err)
			}
			s := in.Spec
			if s.Image != tc.image || s.Database.URL() != tc.db || s.Database.External != tc.external || s.Storage != tc.storage ||
				s.FilesVolume != "twenty_server-local-data" || !slices.Equal(s.Services, tc.services) || !slices.Equal(in.Secrets, tc.secrets) {
				t.Errorf("spec %+v secrets %v", s, in.Secrets)
			}
		})
	}
}

func TestSpecFromEnv(t *testing.T) {
	in := config.Default().Install
	for _, tc := range []struct {
		env      map[string]string
		url      string
		external bool
		storage  string
	}{
		{map[string]string{}, "postgres://postgres@db:5432/default", false, "local"},
		{map[string]string{"PG_DATABASE_HOST": "10.0.0.5"}, "postgres://postgres@10.0.0.5:5432/default", true, "local"},
		{map[string]string{"PG_DATABASE_URL": "postgres://twenty:pw@db:5432/twenty"}, "postgres://twenty@db:5432/twenty", false, "local"},
		{map[string]string{"PG_DATABASE_URL": "postgresql://u@rds.example.com/crm", "STORAGE_TYPE": "s3"}, "postgres://u@rds.example.com:5432/crm", true, "s3"},
	} {
		s := SpecFromEnv(tc.env, in)
		if s.Database.URL() != tc.url || s.Database.External != tc.external || s.Storage != tc.storage || s.FilesVolume != "twenty_server-local-data" {
			t.Errorf("SpecFromEnv(%v) = %+v (url %s)", tc.env, s, s.Database.URL())
		}
	}
	if _, err := ReadSpec([]byte(`{"services":{"api":{}}}`), nil, in); err == nil || !strings.Contains(err.Error(), "install.server_service") {
		t.Errorf("missing server service: %v", err)
	}
	if _, err := ReadSpec([]byte(`not json`), nil, in); err == nil {
		t.Error("garbage accepted")
	}
}

// fakeInstall is a compose install read through the shared fake, whose
// server container reports appVersion (or none when "").
func fakeInstall(t *testing.T, env, appVersion string, running bool) *Install {
	t.Helper()
	cfg := config.Default()
	cfg.Install.Dir = t.TempDir()
	cfg.Install.EnvFile = filepath.Join(cfg.Install.Dir, ".env")
	if err := os.WriteFile(cfg.Install.EnvFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		if res, ok, err := installtest.Answer(c); ok {
			return res, err
		}
		s := strings.Join(c.Argv, " ")
		switch {
		case strings.HasSuffix(s, "ps -q server") && running:
			return proc.Result{Stdout: []byte("cid\n")}, nil
		case strings.HasPrefix(s, "docker inspect"):
			out := "sha256:img twentycrm/twenty:x running healthy\nPATH=/bin\n"
			if appVersion != "" {
				out += "APP_VERSION=" + appVersion + "\n"
			}
			return proc.Result{Stdout: []byte(out)}, nil
		}
		return proc.Result{}, nil
	}}
	in, err := Open(context.Background(), cfg, fake)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestCurrent(t *testing.T) {
	for _, tc := range []struct {
		name, env, app string
		running        bool
		want           string // "" = error
		alias          bool
		warn           string
	}{
		{"exact", "TAG=v1.22.4\n", "v1.22.4", true, "v1.22.4", false, ""},
		{"TAG without v", "TAG=1.22.4\n", "", false, "v1.22.4", false, "no server container"},
		{"APP_VERSION without v", "TAG=v1.22.4\n", "1.22.4", true, "v1.22.4", false, ""},
		{"alias TAG resolved by the container", "TAG=v1.22\n", "v1.22.4", true, "v1.22.4", true, "alias"},
		{"latest", "TAG=latest\n", "v2.40.1", true, "v2.40.1", true, "alias"},
		{"no TAG", "APP_SECRET=s\n", "v2.40.1", true, "v2.40.1", true, "no TAG line"},
		{"alias and nothing runs", "TAG=v1.22\n", "", false, "", true, "alias"},
		{"running wins over TAG", "TAG=v1.22.4\n", "v1.23.0", true, "v1.23.0", false, "but the server runs v1.23.0"},
		{"alias not matching what runs", "TAG=v1.22\n", "v1.23.0", true, "v1.23.0", true, "does not name"},
		{"garbage APP_VERSION", "TAG=v1.22.4\n", "dev", true, "v1.22.4", false, `APP_VERSION="dev"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := fakeInstall(t, tc.env, tc.app, tc.running).Current(context.Background())
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "installed version unknown") {
					t.Fatalf("want an error, got %+v %v", cur, err)
				}
				return
			}
			if err != nil || cur.Version.String() != tc.want || cur.Alias != tc.alias {
				t.Fatalf("Current = %+v, %v; want %s alias %v", cur, err, tc.want, tc.alias)
			}
			if w := strings.Join(cur.Warnings, "; "); tc.warn != "" && !strings.Contains(w, tc.warn) {
				t.Errorf("warnings %q lack %q", w, tc.warn)
			}
		})
	}
}

func TestComposeV1RefusedInComposeMode(t *testing.T) {
	v1 := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		if c.Argv[0] == "docker" {
			return proc.Fail(c, 125, "docker: 'compose' is not a docker command.")
		}
		return proc.Result{Stdout: []byte("1.29.2\n")}, nil
	}}
	cfg := config.Default()
	cfg.Install.Dir = t.TempDir()
	cfg.Install.EnvFile = filepath.Join(cfg.Install.Dir, ".env")
	if err := os.WriteFile(cfg.Install.EnvFile, []byte("TAG=v1.22.4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), cfg, v1)
	if err == nil || !strings.Contains(err.Error(), "Compose v2") || !strings.Contains(err.Error(), "docker-compose is Compose 1.29.2") {
		t.Fatalf("compose mode with only v1: %v", err)
	}
	cfg.Install.Mode = "source"
	in, err := Open(context.Background(), cfg, v1)
	if err != nil || strings.Join(in.Program, " ") != "docker-compose" {
		t.Fatalf("source mode with v1: %v %v", in, err)
	}
	if got, want := strings.Join(in.UpBuild().Argv, " "), "docker-compose --project-name twenty --project-directory "+cfg.Install.Dir+" up -d --build"; got != want {
		t.Errorf("argv %s, want %s", got, want)
	}
}

func TestArgv(t *testing.T) {
	in := fakeInstall(t, "TAG=v1.22.4\n", "", false)
	in.EnvFile = "/opt/twenty/custom.env"
	for got, want := range map[string]string{
		strings.Join(in.Pull(version.MustParse("v1.23.0")).Env, " "):                                           "TAG=v1.23.0",
		strings.Join(in.StopWriters().Argv[len(in.Program):], " "):                                             "--project-name twenty --project-directory " + in.Dir + " --env-file /opt/twenty/custom.env stop server worker",
		strings.Join(in.ExecDB(0, []string{"A=b"}, "pg_dump", "-U", "postgres").Argv[len(in.Program)+6:], " "): "exec -T -e A=b db pg_dump -U postgres",
		strings.Join(in.FlushCache().Argv[len(in.Program)+6:], " "):                                            "run --rm --no-deps -T -e DISABLE_DB_MIGRATIONS=true -e DISABLE_CRON_JOBS_REGISTRATION=true server yarn command:prod cache:flush",
	} {
		if got != want {
			t.Errorf("argv\n got %s\nwant %s", got, want)
		}
	}
}

func TestPlanSource(t *testing.T) {
	root := []byte(`{"scripts":{"start":"npx nx start"}}`)
	server := []byte(`{"scripts":{"database:migrate:prod":"x","command:prod":"y","worker:prod":"z"}}`)
	describe := func(p SourcePlan) string {
		var out []string
		for _, s := range []string{"clean", "install", "build", "migrate", "upgrade_workspaces", "flush_cache"} {
			out = append(out, s+": "+strings.Join(p.Describe(s), " ; "))
		}
		return strings.Join(out, "\n")
	}
	p, err := PlanSource(version.MustParse("v1.23.0"), root, server, true, config.Default().Source)
	if err != nil {
		t.Fatal(err)
	}
	want := `clean: rm -rf packages/twenty-server/dist packages/twenty-front/build packages/twenty-front/dist   (only what git ignores)
install: yarn install
build: npx nx build twenty-server ; npx nx build twenty-front
migrate: (cd packages/twenty-server && yarn database:migrate:prod)
upgrade_workspaces: (cd packages/twenty-server && yarn command:prod upgrade)
flush_cache: (cd packages/twenty-server && yarn command:prod cache:flush)`
	if got := describe(p); got != want {
		t.Errorf("plan\n%s\nwant\n%s", got, want)
	}
	notes := strings.Join(p.Notes, "\n")
	for _, w := range []string{"no clean script", "no build script", "command:prod upgrade"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	// An old release has no unversioned upgrade command; the admin's own
	// commands replace the chosen ones.
	src := config.Default().Source
	src.Build, src.FlushCache = []string{"yarn", "build"}, []string{"true"}
	p, err = PlanSource(version.MustParse("v0.42.0"), []byte(`{"scripts":{"build":"nx run-many","database:migrate:prod":"x"}}`), nil, false, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(p); !strings.Contains(got, "build: yarn build\nmigrate: yarn database:migrate:prod\nupgrade_workspaces: \nflush_cache: true") {
		t.Errorf("old release plan:\n%s", got)
	}
	if _, err := PlanSource(version.MustParse("v1.23.0"), root, []byte(`{"scripts":{}}`), false, config.Default().Source); err == nil || !strings.Contains(err.Error(), "source.migrate") {
		t.Errorf("no migrate script: %v", err)
	}
	if _, err := PlanSource(version.MustParse("v1.23.0"), []byte(`{`), server, false, config.Default().Source); err == nil {
		t.Error("broken package.json accepted")
	}
}
