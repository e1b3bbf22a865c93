package daemon

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func withToken(tok string) harnessOpt {
	return func(cfg *config.Config, _ *Deps) {
		p := filepath.Join(cfg.Daemon.StateDir, "api-token")
		if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
			panic(err)
		}
		cfg.Daemon.APITokenFile = p
	}
}

func TestPostNeedsConfiguredToken(t *testing.T) {
	h := newHarness(t)
	addr, _ := h.start(t)
	for _, path := range []string{"/api/v1/check", "/api/v1/approve"} {
		if code, body := post(t, addr+path, "anything", ""); code != http.StatusForbidden || !strings.Contains(body, "api_token_file") {
			t.Errorf("%s without a configured token: %d %s, want 403 naming the key", path, code, body)
		}
	}
}

func TestPostAuth(t *testing.T) {
	h := newHarness(t, withToken("s3cret"))
	addr, _ := h.start(t)
	tests := []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "s3cres", http.StatusUnauthorized},
		{"right token", "s3cret", http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := post(t, addr+"/api/v1/check", tt.token, ""); code != tt.want {
				t.Errorf("got %d %s, want %d", code, body, tt.want)
			}
		})
	}
	if code := get(t, addr+"/api/v1/check"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1/check = %d, want 405", code)
	}
}

func TestApproveFlow(t *testing.T) {
	h := newHarness(t, withToken("tok"), func(cfg *config.Config, _ *Deps) { cfg.Window.RequireApproval = true })
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	addr, _ := h.start(t)
	eventually(t, "the first check", func() bool { return h.d.Status().Waiting != "" })
	if got := h.d.Status().Waiting; !strings.HasPrefix(got, "waiting for approval of v2.1.0") {
		t.Fatalf("waiting = %q", got)
	}
	if n := len(h.up.upgrades()); n != 0 {
		t.Fatalf("upgraded %d times without approval", n)
	}
	if code, body := post(t, addr+"/api/v1/approve", "tok", `{"version":"v2.2.0"}`); code != http.StatusConflict {
		t.Errorf("approving a version that is not waiting: %d %s, want 409", code, body)
	}
	if code, _ := post(t, addr+"/api/v1/approve", "tok", strings.Repeat("x", maxBody+1)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if ap, _ := h.d.deps.Store.Approval(); ap != nil {
		t.Fatalf("a refused approval was persisted: %+v", ap)
	}
	code, body := post(t, addr+"/api/v1/approve", "tok", `{"version":"v2.1.0"}`)
	if code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	eventually(t, "the approved upgrade", func() bool { return len(h.up.upgrades()) == 1 })
	if got := h.up.upgrades()[0]; got != v210 {
		t.Errorf("upgraded to %s, want v2.1.0", got)
	}
	// Installed: the approval is used up and removed from disk.
	eventually(t, "the approval to be cleared", func() bool {
		ap, _ := h.d.deps.Store.Approval()
		return ap == nil
	})
}

func TestApprovalSurvivesRestart(t *testing.T) {
	h := newHarness(t, func(cfg *config.Config, _ *Deps) { cfg.Window.RequireApproval = true })
	h.d.publish(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}})
	if _, err := h.d.Approve(version.V{}, "test"); err != nil {
		t.Fatal(err)
	}
	d2, err := New(h.cfg, Deps{Store: h.d.deps.Store, Notifier: &recNotifier{}})
	if err != nil {
		t.Fatal(err)
	}
	if d2.approval == nil || d2.approval.Version != v210 {
		t.Fatalf("approval after restart = %+v, want v2.1.0", d2.approval)
	}
}

func TestStatusAndHistoryDocuments(t *testing.T) {
	h := newHarness(t)
	if err := h.d.deps.Store.Append(state.Entry{ID: "a1", From: v1226, To: v210, Result: state.ResultSuccess, Seconds: 600}); err != nil {
		t.Fatal(err)
	}
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v210, Newest: v220, Held: []policy.Held{{Version: v220, Code: "too_new", Reason: "published 1h ago"}}}}, nil)
	addr, _ := h.start(t)
	eventually(t, "the first check", func() bool { return h.d.Status().LastCheck != nil })
	resp, err := http.Get(addr + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, k := range []string{"state", "daemon_running", "installed", "latest", "target", "path", "held", "update_available",
		"waiting", "next_window", "expected_duration_seconds", "last_check", "last_check_error", "last_result", "transaction", "approval", "warnings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("status has no %q key", k)
		}
	}
	if doc["installed"] != "v2.1.0" || doc["latest"] != "v2.2.0" || doc["state"] != "idle" {
		t.Errorf("status = %v", doc)
	}
	if lr, _ := doc["last_result"].(map[string]any); lr["id"] != "a1" {
		t.Errorf("last_result = %v", doc["last_result"])
	}
	resp, err = http.Get(addr + "/api/v1/history")
	if err != nil {
		t.Fatal(err)
	}
	var hist []state.Entry
	if err := json.NewDecoder(resp.Body).Decode(&hist); err != nil || len(hist) != 1 || hist[0].ID != "a1" {
		t.Errorf("history = %+v, %v", hist, err)
	}
	resp.Body.Close()
}

// TestRemoteListenWarned: a listener other machines can reach, allowed by
// daemon.allow_remote, is warned about when the daemon starts; a loopback
// one is not.
func TestRemoteListenWarned(t *testing.T) {
	for _, tt := range []struct {
		listen string
		warned bool
	}{{"0.0.0.0:9787", true}, {":9787", true}, {"127.0.0.1:9787", false}} {
		var logs syncBuffer
		h := newHarness(t, func(cfg *config.Config, deps *Deps) {
			cfg.Daemon.Listen, cfg.Daemon.AllowRemote = tt.listen, true
			deps.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		addr, stop := h.start(t)
		get(t, addr+"/-/healthy")
		stop()
		out := logs.String()
		if got := strings.Contains(out, "level=WARN") && strings.Contains(out, "reachable from other machines"); got != tt.warned {
			t.Errorf("listen %q: warned = %v, want %v; log:\n%s", tt.listen, got, tt.warned, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBearerSchemeCaseInsensitive: RFC 7235 auth schemes are
// case-insensitive, so "bearer" and "BEARER" work; the token itself is not.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	h := newHarness(t, withToken("s3cret"))
	addr, _ := h.start(t)
	for _, tt := range []struct {
		header string
		want   int
	}{
		{"Bearer s3cret", http.StatusAccepted},
		{"bearer s3cret", http.StatusAccepted},
		{"BEARER s3cret", http.StatusAccepted},
		{"bEaReR  s3cret", http.StatusAccepted},
		{"bearer S3CRET", http.StatusUnauthorized},
		{"bearer s3cre", http.StatusUnauthorized},
		{"Bearers3cret", http.StatusUnauthorized},
		{"bearer", http.StatusUnauthorized},
		{"Basic s3cret", http.StatusUnauthorized},
		{"s3cret", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodPost, addr+"/api/v1/check", nil)
		req.Header.Set("Authorization", tt.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Authorization: %q: %d, want %d", tt.header, resp.StatusCode, tt.want)
		}
	}
}
