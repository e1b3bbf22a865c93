package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		cur, target string
		ok          bool
	}{
		{"", "v1.19.0", true},         // fresh install
		{"v1.19.0", "v1.19.0", true},  // restart
		{"v1.19.0", "v1.20.3", true},  // next minor below the floor
		{"v1.19.0", "v1.21.0", false}, // skipped a minor below the floor
		{"v1.21.2", "v1.22.0", true},  // next minor
		{"v1.21.2", "v2.0.0", false},  // jump from below the floor
		{"v1.22.4", "v1.23.0", true},  // onto the floor
		{"v1.22.0", "v2.7.0", false},  // Twenty #23568: 1.22.x → 2.x fails
		{"v1.23.0", "v2.7.0", true},   // at the floor: jump anywhere
		{"v2.0.2", "v2.0.0", false},   // database newer than the server
		{"v2.0.2", "v2.0.2", true},
	} {
		t.Run(tc.cur+"→"+tc.target, func(t *testing.T) {
			var cur version.V
			if tc.cur != "" {
				cur = version.MustParse(tc.cur)
			}
			err := checkPath(cur, version.MustParse(tc.target))
			if (err == nil) != tc.ok {
				t.Fatalf("checkPath = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	names := func(v string) string {
		var out []string
		for _, m := range plan(version.MustParse(v)) {
			out = append(out, m.name)
		}
		return strings.Join(out, ",")
	}
	if got := names("v1.19.0"); got != "1700000000000-init,1719000000000-add-person-job-title" {
		t.Errorf("plan(v1.19.0) = %s", got)
	}
	if got := names("v1.20.3"); !strings.HasSuffix(got, "1720300000000-backfill-company-domain") {
		t.Errorf("plan(v1.20.3) = %s", got)
	}
	if got := names("v2.0.0"); strings.Contains(got, "sync-metadata") {
		t.Errorf("v2.0.0 has its own migration, got a generic one: %s", got)
	}
	if got := names("v2.7.0"); !strings.HasSuffix(got, "1800002007000-sync-metadata-2_7_0") {
		t.Errorf("plan(v2.7.0) = %s", got)
	}
}

func TestCommand(t *testing.T) {
	for argv, want := range map[string]string{
		"twenty-sim":                       "server",
		"twenty-sim worker":                "worker",
		"/usr/local/bin/yarn worker:prod":  "worker",
		"yarn command:prod upgrade:status": "upgrade-status",
		"yarn start:prod":                  "server",
		"/bin/tar -cf - .":                 "tar",
		"twenty-sim healthcheck":           "healthcheck",
		"yarn command:prod cache:flush":    "cache-flush",
		"yarn command:prod upgrade":        "yarn command:prod upgrade",
	} {
		if got := command(strings.Fields(argv)); got != want {
			t.Errorf("command(%q) = %q, want %q", argv, got, want)
		}
	}
}

func TestTarRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "ws", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "ws", "sub", "a.bin"), bytes.Repeat([]byte{7}, 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "files.tgz")
	create, err := parseTar([]string{"-C", src, "-czf", archive, "."})
	if err != nil || create.run() != nil {
		t.Fatalf("create: %v", err)
	}
	extract, err := parseTar([]string{"xzf", archive, "-C", dst})
	if err != nil || extract.run() != nil {
		t.Fatalf("extract: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "ws", "sub", "a.bin"))
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{7}, 5000)) {
		t.Fatalf("extracted file: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dst, "ws", "sub", "a.bin")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := parseTar([]string{"-cJf", "x"}); err == nil {
		t.Error("unsupported -J accepted")
	}
}

func TestIssue23568Message(t *testing.T) {
	err := checkPath(version.MustParse("v1.22.4"), version.MustParse("v2.0.0"))
	if err == nil || !strings.Contains(err.Error(), "column ViewSortEntity.subFieldName does not exist") {
		t.Fatalf("1.22.x → 2.x: %v", err)
	}
}

func TestEnvelope(t *testing.T) {
	a1, a2, b := envelope("a"), envelope("a"), envelope("b")
	if a1 == b || a1 != a2 || !strings.HasPrefix(a1, "enc:v2:") {
		t.Fatal("envelope does not tell keys apart")
	}
}
