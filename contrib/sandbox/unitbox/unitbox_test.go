package unitbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

const realUnit = "../../../packaging/systemd/twenty-upgraded.service"

func loadUnit(t *testing.T, path string) Sandbox {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := Parse(f, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := u.Sandbox()
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

func sandboxOf(t *testing.T, text string) (Sandbox, error) {
	t.Helper()
	u, err := Parse(strings.NewReader(text), "test.service")
	if err != nil {
		return Sandbox{}, err
	}
	return u.Sandbox()
}

// everything is a host whose paths all exist as folders, with these mounts.
func everything(mounts ...string) Host {
	h := Host{Stat: func(string) (bool, bool) { return true, true }}
	for _, m := range mounts {
		point, fstype, _ := strings.Cut(m, " ")
		h.Mounts = append(h.Mounts, Mount{Point: point, FSType: fstype})
	}
	return h
}

// TestPackagedLayoutUnderTheUnit: with the unit as shipped, the folders the
// config's defaults name (install.dir, backup.dir, daemon.state_dir) are
// writable, and the rest of the system, Docker's storage included, is not.
// It follows the unit file: change the unit and this says what moved.
func TestPackagedLayoutUnderTheUnit(t *testing.T) {
	sb := loadUnit(t, realUnit)
	host := everything("/", "/var/lib/docker ext4", "/proc proc", "/sys sysfs", "/dev devtmpfs", "/home/alice ext4")
	ops, err := Plan(sb, nil, host)
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	for _, p := range []string{def.Install.Dir, def.Backup.Dir, def.Daemon.StateDir, "/var/cache/twenty-upgraded", "/tmp/x"} {
		if !Writable(ops, host.Mounts, p) {
			t.Errorf("%s is read-only under the unit; plan:\n%s", p, planText(ops))
		}
	}
	for _, p := range []string{"/usr/bin", "/etc/twenty-upgraded/config.toml", "/var/lib/docker/volumes/x/_data", "/home/alice", "/root", "/proc/sys/vm"} {
		if Writable(ops, host.Mounts, p) {
			t.Errorf("%s is writable under the unit; plan:\n%s", p, planText(ops))
		}
	}
}

func planText(ops []Op) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString("  " + o.String() + "\n")
	}
	return b.String()
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name, unit string
		binds      []Bind
		host       Host
		want       []string
		err        string
	}{
		{name: "strict", unit: "[Service]\nProtectSystem=strict\nReadWritePaths=-/opt/twenty /srv/b\nPrivateTmp=yes\n",
			host: everything("/", "/var/lib/docker ext4", "/proc proc", "/tmp/sub ext4", "/run/docker/netns/x nsfs"),
			want: []string{"tmpfs /tmp mode 1777", "tmpfs /var/tmp mode 1777", "bind /opt/twenty /opt/twenty", "bind /srv/b /srv/b",
				"read-only /", "read-only /var/lib/docker"}},
		{name: "full protects /usr, /boot, /efi and /etc only", unit: "[Service]\nProtectSystem=full\n",
			host: everything("/", "/boot vfat"),
			want: []string{"bind /usr /usr", "bind /efi /efi", "bind /etc /etc", "read-only /boot", "read-only /usr", "read-only /efi", "read-only /etc"}},
		{name: "layout binds first, state folder created and kept writable",
			unit:  "[Service]\nProtectSystem=strict\nStateDirectory=app\nStateDirectoryMode=0700\nProtectHome=yes\n",
			binds: []Bind{{Source: "/t/state", Target: "/var/lib/app"}},
			host:  everything("/", "/home ext4"),
			want: []string{"bind /t/state /var/lib/app", "inaccessible /home", "inaccessible /root", "inaccessible /run/user",
				"bind /var/lib/app /var/lib/app", "read-only /"}},
		{name: "a read-only path inside a writable one", unit: "[Service]\nProtectSystem=strict\nReadWritePaths=/srv\nReadOnlyPaths=/srv/keep\n",
			host: everything("/"),
			want: []string{"bind /srv /srv", "bind /srv/keep /srv/keep", "read-only /srv/keep", "read-only /"}},
		{name: "a missing writable path without - fails", unit: "[Service]\nReadWritePaths=/nope\n",
			host: Host{Stat: func(string) (bool, bool) { return false, false }}, err: "ReadWritePaths=/nope does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := sandboxOf(t, tc.unit)
			if err != nil {
				t.Fatal(err)
			}
			ops, err := Plan(sb, tc.binds, tc.host)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range ops {
				got = append(got, o.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("plan:\n%s\nwant:\n  %s", planText(ops), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestSandboxDirectives(t *testing.T) {
	sb, err := sandboxOf(t, `[Unit]
Description=x
[Service]
# a comment
Environment=HOME=/var/lib/x "A=b c"
ReadWritePaths=/a \
  -/b
CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER
CapabilityBoundingSet=CAP_KILL
UMask=0077
SystemCallFilter=@system-service
`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sb.Environment, []string{"HOME=/var/lib/x", "A=b c"}) {
		t.Errorf("environment %q", sb.Environment)
	}
	if !slices.Equal(sb.ReadWritePaths, []Path{{Path: "/a"}, {Path: "/b", Optional: true}}) {
		t.Errorf("read-write paths %+v", sb.ReadWritePaths)
	}
	if !slices.Equal(sb.Capabilities, []string{"CAP_CHOWN", "CAP_FOWNER", "CAP_KILL"}) {
		t.Errorf("capabilities %q", sb.Capabilities)
	}
	if m, err := CapabilityMask(sb.Capabilities); m != 0x29 || err != nil {
		t.Errorf("capability mask %#x %v, want 0x29", m, err)
	}
	if sb.UMask != 0o077 || !slices.Equal(sb.NotModelled, []string{"SystemCallFilter=@system-service"}) {
		t.Errorf("umask %o, not modelled %q", sb.UMask, sb.NotModelled)
	}
	inv, err := sandboxOf(t, "[Service]\nCapabilityBoundingSet=~CAP_SYS_ADMIN\n")
	if err != nil || slices.Contains(inv.Capabilities, "CAP_SYS_ADMIN") || !slices.Contains(inv.Capabilities, "CAP_CHOWN") {
		t.Errorf("~CAP_SYS_ADMIN: %q %v", inv.Capabilities, err)
	}
}

// TestUnknownDirectiveFails: a directive the box does not know stops the
// test instead of being silently ignored.
func TestUnknownDirectiveFails(t *testing.T) {
	for _, text := range []string{
		"[Service]\nTemporaryFileSystem=/var\n",
		"[Service]\nBindPaths=/a:/b\n",
		"[Service]\nUser=nobody\n",
		"[Service]\nReadWritePaths=+/x\n",
		"[Service]\nProtectSystem=sometimes\n",
	} {
		if _, err := sandboxOf(t, text); err == nil {
			t.Errorf("%q: accepted", text)
		}
	}
	if _, err := sandboxOf(t, "[Service]\nTemporaryFileSystem=/var\n"); err == nil || !strings.Contains(err.Error(), "test.service:2: TemporaryFileSystem=") {
		t.Errorf("error does not name file, line and directive: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for text, want := range map[string]string{
		"Key=v\n":              "test.service:1: \"Key=v\" is outside any [Section]",
		"[Service\n":           "test.service:1: section header",
		"[Service]\nnoequal\n": "test.service:2: \"noequal\" is not Key=Value",
		"[Service]\nA=b \\\n":  "ends inside a continued line",
	} {
		_, err := Parse(strings.NewReader(text), "test.service")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", text, err, want)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	in := "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"30 22 0:5 / /mnt/with\\040space rw - tmpfs tmpfs rw\n" +
		"31 22 0:4 net:[4026532] /run/docker/netns/abc rw - nsfs nsfs rw\n"
	got := ParseMountinfo(in)
	want := []Mount{{"/", "ext4"}, {"/mnt/with space", "tmpfs"}, {"/run/docker/netns/abc", "nsfs"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v", got)
	}
}
