package unitbox

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// OpKind is one kind of mount operation.
type OpKind string

// The operations Plan produces and Apply performs.
const (
	OpMkdir        OpKind = "mkdir"        // create a folder, as systemd creates StateDirectory= and friends
	OpBind         OpKind = "bind"         // bind Source onto Target, recursively
	OpReadOnly     OpKind = "read-only"    // remount the mount at Target read-only, keeping its other flags
	OpTmpfs        OpKind = "tmpfs"        // an empty, writable tmpfs on Target with Mode
	OpInaccessible OpKind = "inaccessible" // an empty, read-only tmpfs of mode 0000 on Target
	OpDevices      OpKind = "devices"      // a minimal /dev: null, zero, full, random, urandom, tty, pts, shm
)

// Op is one step of the plan.
type Op struct {
	Kind           OpKind
	Source, Target string
	Mode           uint32
}

func (o Op) String() string {
	switch o.Kind {
	case OpBind:
		return fmt.Sprintf("bind %s %s", o.Source, o.Target)
	case OpTmpfs, OpMkdir:
		return fmt.Sprintf("%s %s mode %04o", o.Kind, o.Target, o.Mode)
	}
	return fmt.Sprintf("%s %s", o.Kind, o.Target)
}

// Bind is a folder or file of the host laid out somewhere else before the
// unit's sandbox applies: the test's install folder as /opt/twenty, its
// state folder as /var/lib/twenty-upgraded. It stands for "the package is
// installed and configured here"; it is not part of the unit.
type Bind struct{ Source, Target string }

// Host is what Plan needs to know about the machine.
type Host struct {
	Mounts []Mount                             // from /proc/self/mountinfo, in order
	Stat   func(p string) (exists, isDir bool) // follows symlinks
}

// Mount is one line of /proc/self/mountinfo.
type Mount struct{ Point, FSType string }

// apiFS are the API file systems ProtectSystem=strict leaves writable
// (systemd.exec(5)): other options protect them.
var apiFS = []string{"/dev", "/proc", "/sys"}

// kernelTunables are the /proc entries ProtectKernelTunables= makes
// read-only, besides /sys (systemd's list, those that are files or folders
// of /proc).
var kernelTunables = []string{"/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
	"/proc/latency_stats", "/proc/mtrr", "/proc/scsi", "/proc/sys", "/proc/sysrq-trigger", "/proc/timer_stats"}

// Plan turns the sandbox into mount operations, in the order systemd's
// namespace setup applies them: the layout binds, the folders systemd
// creates, the private /tmp and /dev, the hidden homes, inaccessible
// paths, the writable paths bound onto themselves (so they stay writable),
// the read-only paths, then the read-only remount of every other mount
// that ProtectSystem covers, and the kernel's tunables.
func Plan(sb Sandbox, binds []Bind, h Host) ([]Op, error) {
	p := &planner{sb: sb, h: h}
	if err := p.layout(binds); err != nil {
		return nil, err
	}
	if err := p.private(); err != nil {
		return nil, err
	}
	if err := p.writable(); err != nil {
		return nil, err
	}
	p.protectSystem()
	p.kernel()
	return p.ops, nil
}

type planner struct {
	sb      Sandbox
	h       Host
	ops     []Op
	rw      []string // stay writable
	covered []string // fresh mounts that hide what was below them
}

func (p *planner) add(o Op) {
	p.ops = append(p.ops, o)
	if o.Kind == OpTmpfs || o.Kind == OpInaccessible || o.Kind == OpDevices {
		p.covered = append(p.covered, o.Target)
	}
}

func (p *planner) layout(binds []Bind) error {
	sorted := append([]Bind(nil), binds...)
	sort.SliceStable(sorted, func(i, j int) bool { return depth(sorted[i].Target) < depth(sorted[j].Target) })
	for _, b := range sorted {
		if ok, _ := p.h.Stat(b.Source); !ok {
			return fmt.Errorf("layout bind: %s does not exist", b.Source)
		}
		if ok, _ := p.h.Stat(b.Target); !ok {
			return fmt.Errorf("layout bind: the mount point %s does not exist: create it first", b.Target)
		}
		p.add(Op{Kind: OpBind, Source: b.Source, Target: path.Clean(b.Target)})
	}
	for _, d := range append(append([]Dir(nil), p.sb.Writable...), p.sb.Config...) {
		if ok, _ := p.h.Stat(d.Path); !ok {
			p.add(Op{Kind: OpMkdir, Target: d.Path, Mode: d.Mode})
		}
	}
	return nil
}

func (p *planner) private() error {
	if p.sb.PrivateTmp {
		for _, d := range []string{"/tmp", "/var/tmp"} {
			p.add(Op{Kind: OpTmpfs, Target: d, Mode: 0o1777})
			p.rw = append(p.rw, d)
		}
	}
	if p.sb.PrivateDevices {
		p.add(Op{Kind: OpDevices, Target: "/dev"})
	}
	homes := []string{"/home", "/root", "/run/user"}
	for _, d := range homes {
		if ok, isDir := p.h.Stat(d); !ok || !isDir {
			continue
		}
		switch p.sb.ProtectHome {
		case "yes":
			p.add(Op{Kind: OpInaccessible, Target: d})
		case "tmpfs":
			p.add(Op{Kind: OpTmpfs, Target: d, Mode: 0o755})
			p.add(Op{Kind: OpReadOnly, Target: d})
		case "read-only":
			p.add(Op{Kind: OpBind, Source: d, Target: d})
			p.add(Op{Kind: OpReadOnly, Target: d})
		}
	}
	if p.sb.ProtectKernelModules {
		for _, d := range []string{"/lib/modules", "/usr/lib/modules"} {
			if ok, isDir := p.h.Stat(d); ok && isDir {
				p.add(Op{Kind: OpInaccessible, Target: d})
			}
		}
	}
	for _, ip := range p.sb.InaccessiblePaths {
		ok, isDir := p.h.Stat(ip.Path)
		switch {
		case !ok && ip.Optional:
			continue
		case !ok:
			return fmt.Errorf("InaccessiblePaths=%s does not exist (systemd would fail the unit with 226/NAMESPACE)", ip.Path)
		case !isDir:
			return fmt.Errorf("InaccessiblePaths=%s is a file: only folders are modelled", ip.Path)
		}
		p.add(Op{Kind: OpInaccessible, Target: ip.Path})
	}
	return nil
}

// writable binds every path that must stay writable onto itself, so the
// read-only remount of its parent mount does not reach it; then the
// read-only paths.
func (p *planner) writable() error {
	var paths []string
	for _, d := range p.sb.Writable {
		paths = append(paths, d.Path)
	}
	for _, rw := range p.sb.ReadWritePaths {
		ok, _ := p.h.Stat(rw.Path)
		if !ok && p.madeMkdir(rw.Path) {
			ok = true
		}
		switch {
		case !ok && rw.Optional:
			continue
		case !ok:
			return fmt.Errorf("ReadWritePaths=%s does not exist (systemd would fail the unit with 226/NAMESPACE; prefix it with - to skip a missing one)", rw.Path)
		}
		paths = append(paths, rw.Path)
	}
	sort.SliceStable(paths, func(i, j int) bool { return depth(paths[i]) < depth(paths[j]) })
	for _, d := range paths {
		p.add(Op{Kind: OpBind, Source: d, Target: d})
		p.rw = append(p.rw, d)
	}
	for _, ro := range p.sb.ReadOnlyPaths {
		if ok, _ := p.h.Stat(ro.Path); !ok {
			if ro.Optional {
				continue
			}
			return fmt.Errorf("ReadOnlyPaths=%s does not exist (systemd would fail the unit with 226/NAMESPACE)", ro.Path)
		}
		p.add(Op{Kind: OpBind, Source: ro.Path, Target: ro.Path})
		p.add(Op{Kind: OpReadOnly, Target: ro.Path})
	}
	return nil
}

func (p *planner) madeMkdir(d string) bool {
	for _, o := range p.ops {
		if o.Kind == OpMkdir && o.Target == d {
			return true
		}
	}
	return false
}

// protectSystem remounts read-only every mount ProtectSystem covers: for
// strict all of them except the API file systems and the writable paths;
// for full /usr, /boot, /efi and /etc; for yes /usr, /boot and /efi.
func (p *planner) protectSystem() {
	var roots []string
	switch p.sb.ProtectSystem {
	case "strict":
		roots = []string{"/"}
	case "full":
		roots = []string{"/usr", "/boot", "/efi", "/etc"}
	case "yes":
		roots = []string{"/usr", "/boot", "/efi"}
	default:
		return
	}
	for _, r := range roots {
		if r != "/" {
			if ok, isDir := p.h.Stat(r); ok && isDir && !p.isMountPoint(r) {
				p.add(Op{Kind: OpBind, Source: r, Target: r})
			}
		}
	}
	for _, m := range p.mountPoints() {
		if !underAny(m, roots) || underAny(m, p.rw) || (p.sb.ProtectSystem == "strict" && underAny(m, apiFS)) {
			continue
		}
		p.add(Op{Kind: OpReadOnly, Target: m})
	}
}

// kernel makes /proc's tunables and /sys read-only (ProtectKernelTunables),
// and the cgroup tree (ProtectControlGroups).
func (p *planner) kernel() {
	var ro []string
	if p.sb.ProtectKernelTunables {
		for _, t := range kernelTunables {
			if ok, _ := p.h.Stat(t); ok {
				p.add(Op{Kind: OpBind, Source: t, Target: t})
				ro = append(ro, t)
			}
		}
		ro = append(ro, p.under("/sys")...)
	}
	if p.sb.ProtectControlGroups {
		ro = append(ro, p.under("/sys/fs/cgroup")...)
	}
	seen := map[string]bool{}
	for _, t := range ro {
		if !seen[t] {
			seen[t] = true
			p.add(Op{Kind: OpReadOnly, Target: t})
		}
	}
}

// mountPoints are the host's mounts and those the plan made, each once,
// without those a fresh mount hides and without nsfs (namespace handles).
func (p *planner) mountPoints() []string {
	seen := map[string]bool{}
	var out []string
	addOne := func(m string, hidden bool) {
		if !seen[m] && !hidden {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, m := range p.h.Mounts {
		hidden := m.FSType == "nsfs"
		for _, c := range p.covered {
			if under(m.Point, c) {
				hidden = true
			}
		}
		addOne(m.Point, hidden)
	}
	for _, o := range p.ops {
		switch o.Kind {
		case OpBind, OpTmpfs:
			addOne(o.Target, false)
		case OpInaccessible, OpDevices:
			seen[o.Target] = true // read-only or private already
		}
	}
	return out
}

func (p *planner) under(root string) []string {
	var out []string
	for _, m := range p.mountPoints() {
		if under(m, root) {
			out = append(out, m)
		}
	}
	return out
}

func (p *planner) isMountPoint(d string) bool {
	for _, m := range p.mountPoints() {
		if m == d {
			return true
		}
	}
	return false
}

func under(p, root string) bool {
	return root == "/" || p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if under(p, r) {
			return true
		}
	}
	return false
}

func depth(p string) int { return strings.Count(path.Clean(p), "/") }

// Writable reports whether p is writable after ops on a host whose mounts
// are all writable to begin with: the deepest mount above p decides (a
// bind takes its source's state, a read-only remount or an inaccessible
// tmpfs makes it read-only, a fresh tmpfs hides the mounts below it).
func Writable(ops []Op, host []Mount, p string) bool {
	ro := map[string]bool{}
	for _, m := range host {
		ro[m.Point] = false
	}
	deepest := func(q string) string {
		best := "/"
		for m := range ro {
			if under(q, m) && len(m) > len(best) {
				best = m
			}
		}
		return best
	}
	for _, o := range ops {
		switch o.Kind {
		case OpBind:
			ro[o.Target] = ro[deepest(o.Source)]
		case OpTmpfs, OpDevices, OpInaccessible:
			for m := range ro {
				if m != o.Target && under(m, o.Target) {
					delete(ro, m) // hidden by the fresh mount
				}
			}
			ro[o.Target] = o.Kind == OpInaccessible
		case OpReadOnly:
			ro[o.Target] = true
		}
	}
	return !ro[deepest(path.Clean(p))]
}
