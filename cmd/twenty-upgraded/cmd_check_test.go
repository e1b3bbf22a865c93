package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/release/releasetest"
)

// writeConfig writes a config for an install on tag, with extra TOML lines
// appended, and returns its path.
func writeConfig(t *testing.T, tag, extra string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "twenty"), 0o755)
	os.WriteFile(filepath.Join(dir, "twenty", ".env"), []byte("TAG="+tag+"\n"), 0o600)
	cfg := fmt.Sprintf(`[install]
dir = %q
compose_command = ["false"]
[backup]
dir = %q
[daemon]
state_dir = %q
%s
`, filepath.Join(dir, "twenty"), filepath.Join(dir, "backups"), filepath.Join(dir, "state"), extra)
	p := filepath.Join(dir, "config.toml")
	os.WriteFile(p, []byte(cfg), 0o600)
	return p
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

type planJSON struct {
	Current    string   `json:"current"`
	Target     string   `json:"target"`
	Path       []string `json:"path"`
	Held       []struct{ Version, Reason, Code string }
	NextWindow *time.Time `json:"next_window"`
}

func TestPlanJSONFeeds(t *testing.T) {
	srv := releasetest.Start(t)
	for _, src := range []string{"dockerhub", "github"} {
		t.Run(src, func(t *testing.T) {
			extra := fmt.Sprintf("[release]\nsource = %q\nurl = %q\nmin_age = \"0s\"\ntrack = \"minor\"\n", src, srv.URL)
			cfg := writeConfig(t, "v1.19.0", extra)
			out, errOut, code := runCLI(t, "--config", cfg, "plan", "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var p planJSON
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if p.Current != "v1.19.0" || len(p.Path) == 0 || p.NextWindow == nil {
				t.Fatalf("plan %+v", p)
			}
			// Sequential below v1.22.0: one hop per minor, strictly increasing,
			// ending with a plain vX.Y.Z (never an alias, pre-release or sdk/ tag).
			prevMinor := 19
			for _, v := range p.Path {
				var maj, min, pat int
				if n, _ := fmt.Sscanf(v, "v%d.%d.%d", &maj, &min, &pat); n != 3 || fmt.Sprintf("v%d.%d.%d", maj, min, pat) != v {
					t.Fatalf("path element %q is not a version", v)
				}
				if maj == 1 && min < 22 && min != prevMinor+1 {
					t.Fatalf("path %v skips a minor below the floor", p.Path)
				}
				if maj == 1 {
					prevMinor = min
				}
			}
			if p.Target != p.Path[len(p.Path)-1] {
				t.Fatalf("target %s is not the last hop of %v", p.Target, p.Path)
			}
			for _, h := range p.Held {
				if h.Reason == "" || h.Code == "" {
					t.Fatalf("held without reason: %+v", h)
				}
			}
		})
	}
}

func TestPlanCurrentFlagAndBadVersion(t *testing.T) {
	cfg := writeConfig(t, "v1.19.0", fmt.Sprintf("[release]\nsource = \"file\"\nfile = %q\nmin_age = \"0s\"\ntrack = \"major\"\n", releasetest.DemoReleaseFile()))
	out, errOut, code := runCLI(t, "--config", cfg, "plan", "--current", "v2.30.0", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p planJSON
	json.Unmarshal([]byte(out), &p)
	if p.Current != "v2.30.0" || len(p.Path) != 1 {
		t.Fatalf("from above the floor the path is one hop: %+v", p)
	}
	newest := p.Target

	// Mark the newest as failed here: the plan must move to the next one and say why.
	stateDir := filepath.Join(filepath.Dir(cfg), "state")
	os.MkdirAll(stateDir, 0o700)
	os.WriteFile(filepath.Join(stateDir, "bad-versions"), []byte(newest+" rolled back: health gate failed\n"), 0o600)
	out, _, _ = runCLI(t, "--config", cfg, "plan", "--current", "v2.30.0", "--json")
	p = planJSON{}
	json.Unmarshal([]byte(out), &p)
	if p.Target == newest || p.Target == "" {
		t.Fatalf("bad version %s still the target: %+v", newest, p)
	}
	found := false
	for _, h := range p.Held {
		found = found || (h.Version == newest && h.Code == "failed_here")
	}
	if !found {
		t.Fatalf("%s not held as failed_here: %+v", newest, p.Held)
	}
}

func TestCheckHumanOutput(t *testing.T) {
	cfg := writeConfig(t, "v1.19.0", fmt.Sprintf("[release]\nsource = \"file\"\nfile = %q\nmin_age = \"0s\"\n", releasetest.DemoReleaseFile()))
	out, errOut, code := runCLI(t, "--config", cfg, "check")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"installed:", "v1.19.0", "newest:", "next target:", "needs approval", "warning: running version unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	t.Run("bad current flag", func(t *testing.T) {
		cfg := writeConfig(t, "v1.19.0", fmt.Sprintf("[release]\nsource = \"file\"\nfile = %q\n", releasetest.DemoReleaseFile()))
		_, errOut, code := runCLI(t, "--config", cfg, "plan", "--current", "latest")
		if code != exitUsage || !strings.Contains(errOut, "latest") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("unreachable source", func(t *testing.T) {
		cfg := writeConfig(t, "v1.19.0", "[release]\nsource = \"github\"\nurl = \"http://127.0.0.1:1\"\n")
		_, errOut, code := runCLI(t, "--config", cfg, "check")
		if code != exitFailed || !strings.Contains(errOut, "github") || !strings.Contains(errOut, "127.0.0.1:1") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("missing config", func(t *testing.T) {
		_, errOut, code := runCLI(t, "--config", "/nonexistent/config.toml", "check")
		if code != exitConfig || !strings.Contains(errOut, "/nonexistent/config.toml") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

// TestCheckSaysWhatTheDaemonWouldDoNow: check words the daemon's decision
// for the next hop (daemon.MayStart), not only the window's times.
func TestCheckSaysWhatTheDaemonWouldDoNow(t *testing.T) {
	feed := fmt.Sprintf("[release]\nsource = \"file\"\nfile = %q\nmin_age = \"0s\"\n", releasetest.DemoReleaseFile())
	for _, tc := range []struct{ name, window, want string }{
		{"open", "[window]\nschedule = \"* * * * *\"\nduration = \"2h\"\n", "the daemon would start v"},
		{"approval", "[window]\nschedule = \"* * * * *\"\nduration = \"2h\"\nrequire_approval = true\n", "the daemon would wait: window.require_approval is set"},
		{"closed", fmt.Sprintf("[window]\nschedule = \"CRON_TZ=UTC 0 %d * * *\"\nduration = \"1h\"\n", (time.Now().UTC().Hour()+12)%24), "the daemon would wait: outside the maintenance window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "--config", writeConfig(t, "v1.19.0", feed+tc.window), "check")
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output lacks %q:\n%s%s", code, tc.want, out, errOut)
			}
		})
	}
}
