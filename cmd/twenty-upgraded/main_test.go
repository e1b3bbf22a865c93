package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleAt writes the example config with install.dir set to dir.
func exampleAt(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile("../../twenty-upgraded.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), `dir = "/opt/twenty"`, fmt.Sprintf("dir = %q", dir), 1)
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	inst := t.TempDir()
	os.WriteFile(filepath.Join(inst, ".env"), []byte("TAG=v1.0.0\n"), 0o600)
	if out, errOut, code := runCLI(t, "--config", exampleAt(t, inst), "validate"); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("example: exit %d %s %s", code, out, errOut)
	}
	p := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(p, []byte("[install]\nmode = \"compose\"\n\n[release]\ntrak = \"minor\"\n"), 0o600)
	_, errOut, code := runCLI(t, "--config", p, "validate")
	if code != exitConfig || !strings.Contains(errOut, `bad.toml:5:1: unknown key "release.trak"`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, exitUsage, "Usage:"},
		{"unknown command", []string{"upgrde"}, exitUsage, `unknown command "upgrde"`},
		{"bad global flag", []string{"--confg", "x", "status"}, exitUsage, "confg"},
		{"help", []string{"help"}, 0, "rollback"},
		{"version", []string{"version"}, 0, "twenty-upgraded"},
		{"bad command flag", []string{"--config", "../../twenty-upgraded.toml.example", "plan", "--nope"}, exitUsage, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

// TestValidateChecksFiles: validate proves the install folder, its .env and
// every secret file can be read, naming the key (issue 14: it used to say ok).
func TestValidateChecksFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	_, errOut, code := runCLI(t, "--config", exampleAt(t, missing), "validate")
	if code != exitConfig || !strings.Contains(errOut, "install.dir: "+missing+" does not exist") ||
		!strings.Contains(errOut, "install.env_file: "+missing+"/.env does not exist") {
		t.Fatalf("missing install: exit %d: %s", code, errOut)
	}

	inst := t.TempDir()
	os.WriteFile(filepath.Join(inst, ".env"), []byte("TAG=v1.0.0\n"), 0o600)
	cfg := exampleAt(t, inst)
	data, _ := os.ReadFile(cfg)
	text := strings.Replace(string(data), `api_key_file = ""`, `api_key_file = "/nonexistent/twenty-api-key"`, 1)
	os.WriteFile(cfg, []byte(text), 0o600)
	_, errOut, code = runCLI(t, "--config", cfg, "validate")
	if code != exitConfig || !strings.Contains(errOut, "health.api_key_file: ") || !strings.Contains(errOut, "/nonexistent/twenty-api-key") {
		t.Fatalf("missing secret: exit %d: %s", code, errOut)
	}
}

// TestStrayArguments: every command but restore (which takes the set ID)
// refuses positional arguments with a usage error instead of ignoring them.
func TestStrayArguments(t *testing.T) {
	for name := range commands() {
		if name == "restore" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "--config", "../../twenty-upgraded.toml.example", name, "stray")
			if code != exitUsage || !strings.Contains(errOut, name+" takes no arguments") {
				t.Fatalf("%s stray: exit %d (want %d), stderr %q, stdout %q", name, code, exitUsage, errOut, out)
			}
		})
	}
}
