package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Without a daemon, status and history read the state folder. The listen
// address is a closed loopback port so no daemon can answer.
func TestStatusAndHistoryOffline(t *testing.T) {
	p := writeConfig(t, "v1.22.6", "listen = \"127.0.0.1:1\"")
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Append(state.Entry{ID: "u1", From: version.MustParse("v1.21.0"), To: version.MustParse("v1.22.6"),
		Result: state.ResultSuccess, Seconds: 1200, Downtime: 300, Trigger: "daemon"}); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "--config", p, "status", "--json")
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if st["state"] != "stopped" || st["daemon_running"] != false || st["installed"] != "v1.22.6" {
		t.Errorf("offline status = %v", st)
	}
	if lr, _ := st["last_result"].(map[string]any); lr["id"] != "u1" {
		t.Errorf("last_result = %v", st["last_result"])
	}
	out, _, code = runCLI(t, "--config", p, "history")
	if code != 0 || !strings.Contains(out, "u1") || !strings.Contains(out, "v1.21.0 → v1.22.6") || !strings.Contains(out, "20m0s") {
		t.Errorf("history (exit %d):\n%s", code, out)
	}
	out, _, _ = runCLI(t, "--config", p, "history", "--json")
	var hist []state.Entry
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist) != 1 {
		t.Errorf("history --json: %v %s", err, out)
	}
}
