package scenarios

import (
	"context"
	"fmt"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/unitbox"
	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// TestDaemonUnderItsUnit runs the real daemon, and then its CLI, under the
// sandbox of packaging/systemd/twenty-upgraded.service as parsed from the
// file itself (contrib/sandbox/unitbox: ProtectSystem=strict, the
// ReadWritePaths, PrivateTmp, ProtectHome, PrivateDevices, the bounding
// set, ...), with the packaged layout (/opt/twenty, /var/lib, /var/backups,
// /etc/twenty-upgraded). It does the whole job there: a broken release is
// backed up, upgraded to and rolled back with the database and the
// uploaded files restored; a good release is committed, and a `rollback`
// by hand restores the files as they were, removing one written since.
func TestDaemonUnderItsUnit(t *testing.T) {
	defer timed(t, "TestDaemonUnderItsUnit")()
	needRoot(t)
	ctx := context.Background()
	s := sandbox.Start(t, sandbox.Options{Tag: "v2.0.2"})
	if err := s.SeedSentinels(ctx); err != nil {
		t.Fatal(err)
	}
	ub, err := BuildUnitbox(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewBox(s, t.TempDir(), bin, ub, ConfigOptions{})
	if box != nil {
		t.Cleanup(func() {
			if err := box.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	volume := filesVolume(t, s)
	t.Run("the box is in place", func(t *testing.T) { boxInPlace(t, box, volume) })
	sc := beginBox(t, s, box)
	before := checksums(t, s)
	if !t.Run("broken release rolled back", func(t *testing.T) { boxedBrokenRelease(t, sc, before) }) {
		return
	}
	t.Run("manual rollback after a commit", func(t *testing.T) { boxedManualRollback(t, sc, box, volume, before) })
}

// boxInPlace: inside the box, Docker's storage and the system are
// read-only, the packaged folders writable, /root empty, and the bounding
// set the unit's CapabilityBoundingSet.
func boxInPlace(t *testing.T, box *Box, volume string) {
	probe := "touch " + volume + "/unitbox-probe 2>&1; touch /usr/unitbox-probe 2>&1; " +
		"touch " + BoxInstall + "/.unitbox-probe && rm " + BoxInstall + "/.unitbox-probe && echo install-writable; " +
		"touch " + BoxBackups + "/.unitbox-probe && rm " + BoxBackups + "/.unitbox-probe && echo backups-writable; " +
		"echo root-entries=$(ls -A /root | wc -l); grep CapBnd /proc/self/status"
	sb, err := box.Sandbox()
	if err != nil {
		t.Fatal(err)
	}
	mask, err := unitbox.CapabilityMask(sb.Capabilities)
	if err != nil {
		t.Fatal(err)
	}
	cmd := box.Program(nil, "/bin/sh", "-c", probe)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe in the box: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{volume + "/unitbox-probe': Read-only file system", "/usr/unitbox-probe': Read-only file system",
		"install-writable", "backups-writable", "root-entries=0", fmt.Sprintf("CapBnd:\t%016x", mask)} {
		if !strings.Contains(got, want) {
			t.Errorf("the box does not show %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(volume, "unitbox-probe")); err == nil {
		t.Errorf("the probe wrote into Docker's storage")
	}
	if out, code := box.CLI(nil, "validate"); code != 0 {
		t.Errorf("validate in the box: exit %d\n%s", code, out)
	}
}

// boxedBrokenRelease: v2.4.0 (GraphQL 500) is backed up, switched to and
// rolled back by the daemon in the box; database and files byte-identical.
func boxedBrokenRelease(t *testing.T, sc *scenario, before [2]string) {
	ctx := context.Background()
	sc.start()
	sc.waitReady()
	sc.checked(time.Time{})
	if err := sc.s.Registry.Publish(ctx, "v2.4.0"); err != nil {
		t.Fatal(err)
	}
	if code, b, err := sc.d.Post(ctx, "/api/v1/check", sc.su.Token, nil); err != nil || code != 202 {
		t.Fatalf("POST /api/v1/check: HTTP %d %s %v", code, b, err)
	}
	st := sc.waitStatus(5*time.Minute, "the v2.4.0 transaction to end", func(st daemon.Status) bool {
		return st.State == daemon.StateRollbackFailed ||
			(st.LastResult != nil && st.LastResult.To.String() == "v2.4.0" && st.Transaction == nil && st.State == daemon.StateIdle)
	})
	if st.State == daemon.StateRollbackFailed || st.LastResult.Result != state.ResultRolledBack {
		errText := ""
		if st.Transaction != nil {
			errText = st.Transaction.Error
		} else if st.LastResult != nil {
			errText = st.LastResult.Error
		}
		t.Fatalf("under the unit: state %s, want a clean rollback; error: %s", st.State, errText)
	}
	t.Logf("v2.0.2 → v2.4.0 under the unit: %s in %.1fs", st.LastResult.Result, st.LastResult.Seconds)
	intact(t, sc.s, "v2.0.2")
	if after := checksums(t, sc.s); after != before {
		t.Errorf("database/files checksums changed by the rollback: %v → %v", before, after)
	}
	if err := sc.s.Registry.Unpublish(ctx, "v2.4.0"); err != nil {
		t.Fatal(err)
	}
}

// boxedManualRollback: v2.7.0 commits; a file written after its backup is
// gone after `twenty-upgraded rollback` in the box, which puts v2.0.2 back.
func boxedManualRollback(t *testing.T, sc *scenario, box *Box, volume string, before [2]string) {
	ctx := context.Background()
	if err := sc.s.Registry.Publish(ctx, "v2.7.0"); err != nil {
		t.Fatal(err)
	}
	if code, b, err := sc.d.Post(ctx, "/api/v1/check", sc.su.Token, nil); err != nil || code != 202 {
		t.Fatalf("POST /api/v1/check: HTTP %d %s %v", code, b, err)
	}
	if en := sc.waitResult(5*time.Minute, "v2.7.0"); en.Result != state.ResultSuccess {
		t.Fatalf("v2.7.0 under the unit: %s: %s", en.Result, en.Error)
	}
	sc.stop() // the CLI needs the lock
	planted := filepath.Join(volume, "written-after-the-backup.txt")
	if err := os.WriteFile(planted, []byte("not in the backup\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := box.CLI(nil, "rollback")
	t.Logf("twenty-upgraded rollback in the box: exit %d\n%s", code, tail(out, 15))
	if code != 0 {
		t.Fatalf("rollback in the box: exit %d", code)
	}
	if _, err := os.Stat(planted); err == nil {
		t.Errorf("%s is still there: the files were not restored", planted)
	}
	intact(t, sc.s, "v2.0.2")
	if after := checksums(t, sc.s); after != before {
		t.Errorf("database/files checksums after the manual rollback: %v → %v", before, after)
	}
}

// filesVolume is the host folder of the stack's uploaded-files volume.
func filesVolume(t *testing.T, s *sandbox.Stack) string {
	t.Helper()
	out, err := exec.Command("docker", "volume", "inspect", "--format", "{{.Mountpoint}}", s.Project+"_server-local-data").Output()
	if err != nil {
		t.Fatalf("docker volume inspect: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// needRoot skips (fails under CI=true) when mounts cannot be made.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := "the unit's sandbox needs root (mount namespaces and bind mounts)"
	testreq.Missing(t, msg)
}
