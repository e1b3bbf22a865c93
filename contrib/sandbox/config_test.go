package sandbox

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

// TestConfigTOMLParses needs no Docker: the config a scenario hands the
// daemon must load strictly and point at the stack.
func TestConfigTOMLParses(t *testing.T) {
	s := &Stack{Dir: "/tmp/x/twenty", Project: "twentyabc", ComposeCmd: []string{"docker", "compose"},
		BaseURL: "http://127.0.0.1:4000", Registry: &Registry{Addr: "127.0.0.1:5555"}}
	text := s.ConfigTOML("/tmp/x/state", "/tmp/x/backups", "127.0.0.1:0", "[window]\nschedule = \"* * * * *\"\n")
	cfg, err := config.Parse("sandbox.toml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if cfg.Install.Project != "twentyabc" || strings.Join(cfg.Install.ComposeCommand, " ") != "docker compose" {
		t.Errorf("install = %+v", cfg.Install)
	}
	if cfg.Release.URL != "http://127.0.0.1:5555" || cfg.Health.URL != "http://127.0.0.1:4000" {
		t.Errorf("release url %q, health url %q", cfg.Release.URL, cfg.Health.URL)
	}
}

// TestOwnerAlive guards GC: it must never judge a live or unknown owner dead.
func TestOwnerAlive(t *testing.T) {
	for pid, want := range map[string]bool{
		strconv.Itoa(os.Getpid()): true,
		"0":                       true, // no owner recorded
		"junk":                    true,
		"4194303":                 false, // above any pid this machine hands out (pid_max default)
	} {
		if got := ownerAlive(pid); got != want {
			t.Errorf("ownerAlive(%s) = %v, want %v", pid, got, want)
		}
	}
}
