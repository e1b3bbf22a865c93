package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func TestDetectPrefersV2(t *testing.T) {
	f := &proc.Fake{}
	c, err := Detect(context.Background(), f, config.Default().Install)
	if err != nil || strings.Join(c.Program, " ") != "docker compose" {
		t.Fatalf("%v %v", c.Program, err)
	}
}

func TestDetectFallsBackToV1(t *testing.T) {
	f := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		if c.Argv[0] == "docker" {
			return proc.Fail(c, 125, "docker: 'compose' is not a docker command.")
		}
		return proc.Result{}, nil
	}}
	in := config.Default().Install
	in.EnvFile = "/opt/twenty/custom.env"
	c, err := Detect(context.Background(), f, in)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Args("up", "-d"), " ")
	want := "docker-compose --project-name twenty --project-directory /opt/twenty --env-file /opt/twenty/custom.env up -d"
	if got != want {
		t.Fatalf("argv\n got %s\nwant %s", got, want)
	}
}

func TestDetectNone(t *testing.T) {
	f := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) { return proc.Fail(c, 127, "not found") }}
	if _, err := Detect(context.Background(), f, config.Default().Install); err == nil || !strings.Contains(err.Error(), "compose_command") {
		t.Fatalf("err = %v", err)
	}
}

func fakeDocker(running string) *proc.Fake {
	return &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		a := strings.Join(c.Argv, " ")
		switch {
		case strings.Contains(a, " ps -q server"):
			if running == "" {
				return proc.Result{}, nil
			}
			return proc.Result{Stdout: []byte("abc123\n")}, nil
		case strings.HasPrefix(a, "docker inspect"):
			return proc.Result{Stdout: []byte("sha256:img\nPATH=/bin\nAPP_VERSION=" + running + "\n")}, nil
		}
		return proc.Result{}, nil
	}}
}

func TestCurrent(t *testing.T) {
	tests := []struct {
		name, env, running, want, warn string
	}{
		{"agree", "TAG=v1.22.6\n", "v1.22.6", "v1.22.6", ""},
		{"disagree uses running", "TAG=v1.23.0\n", "v1.22.6", "v1.22.6", "using v1.22.6"},
		{"alias tag", "TAG=latest\n", "v2.1.0", "v2.1.0", "not a release version"},
		{"not running", "TAG=v1.22.6\n", "", "v1.22.6", "no running server"},
		{"nothing known", "TAG=latest\n", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Install.Dir = t.TempDir()
			cfg.Install.EnvFile = filepath.Join(cfg.Install.Dir, ".env")
			os.WriteFile(cfg.Install.EnvFile, []byte(tt.env), 0o600)
			in, err := Current(context.Background(), fakeDocker(tt.running), cfg)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("want error, got %+v", in)
				}
				return
			}
			if err != nil || in.Version.String() != tt.want {
				t.Fatalf("Current = %+v, %v", in, err)
			}
			if tt.warn != "" && !strings.Contains(strings.Join(in.Warnings, "\n"), tt.warn) {
				t.Fatalf("warnings %q lack %q", in.Warnings, tt.warn)
			}
		})
	}
}

func TestCurrentSource(t *testing.T) {
	f := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		return proc.Result{Stdout: []byte("sdk/v9.0.0\ntwenty/v2.10.1\nv2.10.0\n")}, nil
	}}
	cfg := config.Default()
	cfg.Install.Mode = "source"
	in, err := Current(context.Background(), f, cfg)
	if err != nil || in.Version.String() != "v2.10.1" {
		t.Fatalf("%+v %v", in, err)
	}
}
