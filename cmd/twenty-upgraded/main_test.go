package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	if out, errOut, code := runCLI(t, "--config", "../../twenty-upgraded.toml.example", "validate"); code != 0 || !strings.Contains(out, "ok") {
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
