package unitbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ReadHost reads this process's mounts and gives Plan a Stat.
func ReadHost() (Host, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Host{}, err
	}
	h := Host{Mounts: ParseMountinfo(string(b)), Stat: func(p string) (bool, bool) {
		info, err := os.Stat(p)
		if err != nil {
			return false, false
		}
		return true, info.IsDir()
	}}
	return h, nil
}

// ParseMountinfo reads the mount point (field 5, octal escapes undone) and
// the file-system type (after the "-" separator) of every line.
func ParseMountinfo(s string) []Mount {
	var out []Mount
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		m := Mount{Point: unescape(f[4])}
		for i := 6; i < len(f)-1; i++ {
			if f[i] == "-" {
				m.FSType = f[i+1]
				break
			}
		}
		out = append(out, m)
	}
	return out
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CheckPrivateNamespace refuses to go on in the mount namespace of PID 1
// or of the parent process: a read-only remount of / there would make the
// whole machine read-only. It then makes every mount private, so nothing
// done here propagates out.
func CheckPrivateNamespace() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("read this process's mount namespace: %w", err)
	}
	compared := 0
	for _, pid := range []int{1, os.Getppid()} {
		other, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if err != nil {
			continue // PID 1's may be unreadable (ptrace rules); the parent's decides then
		}
		compared++
		if other == self {
			return fmt.Errorf("this process shares the mount namespace of PID %d: run it under `unshare --mount --propagation private` (or with SysProcAttr.Unshareflags = CLONE_NEWNS)", pid)
		}
	}
	if compared == 0 {
		return errors.New("cannot read the mount namespace of PID 1 or of the parent: refusing to remount anything")
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// Apply performs the plan. It must run after CheckPrivateNamespace.
func Apply(ops []Op) error {
	for _, o := range ops {
		if err := apply(o); err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
	}
	return nil
}

func apply(o Op) error {
	switch o.Kind {
	case OpMkdir:
		if err := os.MkdirAll(o.Target, os.FileMode(o.Mode)); err != nil {
			return err
		}
		return os.Chmod(o.Target, os.FileMode(o.Mode))
	case OpBind:
		return syscall.Mount(o.Source, o.Target, "", syscall.MS_BIND|syscall.MS_REC, "")
	case OpReadOnly:
		return readOnly(o.Target)
	case OpTmpfs:
		return syscall.Mount("tmpfs", o.Target, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("mode=%04o", o.Mode))
	case OpInaccessible:
		return syscall.Mount("tmpfs", o.Target, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC|syscall.MS_RDONLY, "mode=0000")
	case OpDevices:
		return devices(o.Target)
	}
	return fmt.Errorf("unknown operation %q", o.Kind)
}

// readOnly remounts the mount at target read-only. A bind remount changes
// only this namespace's view of it; its other flags are kept (dropping
// nosuid or noexec would widen the view instead of narrowing it).
func readOnly(target string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(target, &st); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil // hidden by a mount above it
		}
		return err
	}
	flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY)
	for st1, ms := range map[int64]uintptr{0x2: syscall.MS_NOSUID, 0x4: syscall.MS_NODEV, 0x8: syscall.MS_NOEXEC,
		0x400: syscall.MS_NOATIME, 0x800: syscall.MS_NODIRATIME, 0x1000: syscall.MS_RELATIME} {
		if st.Flags&st1 != 0 {
			flags |= ms
		}
	}
	return syscall.Mount("", target, "", flags, "")
}

// devices builds the /dev of PrivateDevices=yes: a tmpfs with the pseudo
// devices, a new devpts instance, a shm tmpfs and the usual links.
func devices(dev string) error {
	if err := syscall.Mount("tmpfs", dev, "tmpfs", syscall.MS_NOSUID|syscall.MS_NOEXEC, "mode=0755"); err != nil {
		return err
	}
	for name, nums := range map[string][2]uint32{"null": {1, 3}, "zero": {1, 5}, "full": {1, 7}, "random": {1, 8},
		"urandom": {1, 9}, "tty": {5, 0}} {
		p := filepath.Join(dev, name)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(nums[0]<<8|nums[1])); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			return err
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("devpts", filepath.Join(dev, "pts"), "devpts", syscall.MS_NOSUID|syscall.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("devpts: %w", err)
	}
	if err := syscall.Mount("tmpfs", filepath.Join(dev, "shm"), "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("shm: %w", err)
	}
	for link, to := range map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(to, filepath.Join(dev, link)); err != nil {
			return err
		}
	}
	return nil
}

// DefaultPath is the PATH systemd gives system services.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Exec replaces this process with argv as the unit would start it: its
// working folder, umask and environment (systemd's PATH, the unit's
// Environment=, then extra), no new privileges, and only the bounding set's
// capabilities. argv[0] must be an absolute path.
func Exec(sb Sandbox, argv, extra []string) error {
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		return fmt.Errorf("want an absolute program path, got %q", argv)
	}
	env := mergeEnv(append(append([]string{"PATH=" + DefaultPath}, sb.Environment...), extra...))
	syscall.Umask(int(sb.UMask))
	if err := os.Chdir(sb.WorkingDirectory); err != nil {
		return err
	}
	if err := dropCapabilities(sb.Capabilities); err != nil {
		return err
	}
	if sb.NoNewPrivileges {
		if err := prctl(prSetNoNewPrivs, 1); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	return syscall.Exec(argv[0], argv, env)
}

// mergeEnv keeps the last assignment of each key, in first-seen order.
func mergeEnv(kvs []string) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

const (
	prCapbsetDrop   = 24
	prSetNoNewPrivs = 38
	prCapAmbient    = 47
	prCapAmbientClr = 4
)

func prctl(op, arg uintptr) error {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, op, arg, 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// dropCapabilities removes from the bounding set every capability not in
// keep (nil keeps all) and clears the ambient set. Root's capabilities
// after execve are then exactly the bounding set, as under systemd; an
// inheritable set beyond it would leak past execve, so it is refused.
func dropCapabilities(keep []string) error {
	if keep == nil {
		return nil
	}
	want := map[int]bool{}
	for _, c := range keep {
		want[capNumbers[c]] = true
	}
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return err
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	if err := inheritableWithin(want); err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		if !want[c] {
			if err := prctl(prCapbsetDrop, uintptr(c)); err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClr, 0, 0, 0, 0); e != 0 && e != syscall.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", e)
	}
	return nil
}

func inheritableWithin(want map[int]bool) error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapInh:"); ok {
			inh, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return err
			}
			for c := 0; c < 64; c++ {
				if inh&(1<<c) != 0 && !want[c] {
					return fmt.Errorf("the inheritable set holds capability %d beyond the bounding set: not modelled", c)
				}
			}
		}
	}
	return nil
}
