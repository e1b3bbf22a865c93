package unitbox

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Sandbox is what a unit's [Service] section says about the file system,
// the environment and the privileges of its process.
type Sandbox struct {
	ProtectSystem  string // "no", "yes", "full", "strict"
	ProtectHome    string // "no", "yes", "read-only", "tmpfs"
	PrivateTmp     bool
	PrivateDevices bool
	// ProtectKernelTunables, ProtectControlGroups, ProtectKernelModules:
	// the file-system part of each (read-only /proc/sys and /sys, read-only
	// cgroup tree, no module folders).
	ProtectKernelTunables, ProtectControlGroups, ProtectKernelModules bool
	ReadWritePaths, ReadOnlyPaths, InaccessiblePaths                  []Path
	// Folders systemd creates and makes writable (/var/lib/NAME and so on),
	// with their modes.
	Writable []Dir
	// ConfigurationDirectory: /etc/NAME, created, read-only under strict.
	Config []Dir

	Environment      []string // KEY=value, in order (later ones win)
	UMask            uint32   // 0022 unless set
	WorkingDirectory string   // "/" unless set
	NoNewPrivileges  bool
	// Capabilities is the bounding set (nil: every capability).
	Capabilities []string

	// NotModelled lists the directives that restrict the process in ways
	// this package does not reproduce (system-call filter, address
	// families, ...), as "Key=value".
	NotModelled []string
}

// Path is a path of ReadWritePaths= and friends; Optional is the "-"
// prefix (a missing path is skipped rather than an error).
type Path struct {
	Path     string
	Optional bool
}

// Dir is a folder systemd creates for the unit.
type Dir struct {
	Path string
	Mode uint32
}

// ignored are [Service] directives about starting, stopping and watching
// the process: they change nothing it may read, write or do.
var ignored = map[string]bool{
	"Type": true, "NotifyAccess": true, "ExecStart": true, "ExecStartPre": true, "ExecStartPost": true,
	"ExecReload": true, "ExecStop": true, "ExecStopPost": true, "WatchdogSec": true, "Restart": true,
	"RestartSec": true, "RestartPreventExitStatus": true, "SuccessExitStatus": true, "TimeoutStartSec": true,
	"TimeoutStopSec": true, "TimeoutSec": true, "KillMode": true, "KillSignal": true, "SendSIGKILL": true,
	"RemainAfterExit": true, "PIDFile": true, "StandardOutput": true, "StandardError": true,
	"SyslogIdentifier": true, "StateDirectoryMode": true, "CacheDirectoryMode": true,
	"LogsDirectoryMode": true, "RuntimeDirectoryMode": true, "ConfigurationDirectoryMode": true,
	// A private mount namespace is where Apply runs anyway.
	"PrivateMounts": true,
}

// notModelled are directives that do restrict the process, in ways a mount
// namespace cannot show: they are reported, and docs/install.md says so.
var notModelled = map[string]bool{
	"SystemCallFilter": true, "SystemCallArchitectures": true, "SystemCallErrorNumber": true,
	"RestrictAddressFamilies": true, "RestrictNamespaces": true, "RestrictRealtime": true,
	"RestrictSUIDSGID": true, "LockPersonality": true, "MemoryDenyWriteExecute": true,
	"ProtectHostname": true, "ProtectClock": true, "ProtectKernelLogs": true, "ProtectProc": true,
	"KeyringMode": true, "LoadCredential": true, "SetCredential": true, "DevicePolicy": true,
	"DeviceAllow": true, "IPAddressDeny": true, "IPAddressAllow": true,
}

// Sandbox reads the [Service] section. A directive it knows nothing about
// is an error: whoever adds one to the unit must decide here whether it
// changes what the process may touch (model it in Plan) or not (list it in
// ignored or notModelled), so the test keeps following the unit.
func (u *Unit) Sandbox() (Sandbox, error) {
	sb := Sandbox{ProtectSystem: "no", ProtectHome: "no", UMask: 0o022, WorkingDirectory: "/"}
	modes := map[string]uint32{}
	for _, a := range u.Sections["Service"] {
		if strings.HasSuffix(a.Key, "DirectoryMode") {
			m, err := strconv.ParseUint(a.Value, 8, 32)
			if err != nil {
				return sb, fmt.Errorf("%s:%d: %s=%q is not an octal mode", u.Name, a.Line, a.Key, a.Value)
			}
			modes[strings.TrimSuffix(a.Key, "Mode")] = uint32(m)
		}
	}
	var errs []error
	for _, a := range u.Sections["Service"] {
		if err := sb.set(a, modes); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s=: %w", u.Name, a.Line, a.Key, err))
		}
	}
	return sb, errors.Join(errs...)
}

func (sb *Sandbox) set(a Assignment, modes map[string]uint32) error {
	v := a.Value
	switch a.Key {
	case "ProtectSystem":
		return oneOf(&sb.ProtectSystem, boolWord(v, "yes"), "no", "yes", "full", "strict")
	case "ProtectHome":
		return oneOf(&sb.ProtectHome, boolWord(v, "yes"), "no", "yes", "read-only", "tmpfs")
	case "PrivateTmp":
		return setBool(&sb.PrivateTmp, v)
	case "PrivateDevices":
		return setBool(&sb.PrivateDevices, v)
	case "ProtectKernelTunables":
		return setBool(&sb.ProtectKernelTunables, v)
	case "ProtectControlGroups":
		return setBool(&sb.ProtectControlGroups, v)
	case "ProtectKernelModules":
		return setBool(&sb.ProtectKernelModules, v)
	case "NoNewPrivileges":
		return setBool(&sb.NoNewPrivileges, v)
	case "ReadWritePaths":
		return addPaths(&sb.ReadWritePaths, v)
	case "ReadOnlyPaths":
		return addPaths(&sb.ReadOnlyPaths, v)
	case "InaccessiblePaths":
		return addPaths(&sb.InaccessiblePaths, v)
	case "StateDirectory", "CacheDirectory", "LogsDirectory", "RuntimeDirectory":
		base := map[string]string{"StateDirectory": "/var/lib", "CacheDirectory": "/var/cache",
			"LogsDirectory": "/var/log", "RuntimeDirectory": "/run"}[a.Key]
		return addDirs(&sb.Writable, base, v, modes[a.Key])
	case "ConfigurationDirectory":
		return addDirs(&sb.Config, "/etc", v, modes[a.Key])
	case "Environment":
		words, err := Words(v)
		if err != nil {
			return err
		}
		for _, w := range words {
			if !strings.Contains(w, "=") {
				return fmt.Errorf("%q is not KEY=value", w)
			}
		}
		sb.Environment = append(sb.Environment, words...)
		return nil
	case "UMask":
		m, err := strconv.ParseUint(v, 8, 32)
		sb.UMask = uint32(m)
		return err
	case "WorkingDirectory":
		if !path.IsAbs(v) {
			return fmt.Errorf("%q: only an absolute folder is modelled", v)
		}
		sb.WorkingDirectory = v
		return nil
	case "CapabilityBoundingSet":
		return sb.addCaps(v)
	case "AmbientCapabilities":
		if v != "" {
			return fmt.Errorf("%q: ambient capabilities are not modelled (the unit keeps none)", v)
		}
		return nil
	case "User", "Group":
		if v != "root" && v != "0" {
			return fmt.Errorf("%q: only root is modelled (the unit runs as root on purpose)", v)
		}
		return nil
	}
	switch {
	case ignored[a.Key]:
		return nil
	case notModelled[a.Key]:
		sb.NotModelled = append(sb.NotModelled, a.Key+"="+v)
		return nil
	}
	return errors.New("not known to unitbox: model it in contrib/sandbox/unitbox (Plan) if it changes what the process may touch, or list it there as ignored or not modelled")
}

func boolWord(v, yes string) string {
	switch strings.ToLower(v) {
	case "true", "1", "on":
		return yes
	case "false", "0", "off":
		return "no"
	}
	return v
}

func oneOf(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("%q: want one of %s", v, strings.Join(allowed, ", "))
}

func setBool(dst *bool, v string) error {
	switch boolWord(v, "yes") {
	case "yes":
		*dst = true
	case "no":
		*dst = false
	default:
		return fmt.Errorf("%q is not a boolean", v)
	}
	return nil
}

// addPaths appends the paths of one line; an empty value resets the list.
func addPaths(dst *[]Path, v string) error {
	if v == "" {
		*dst = nil
		return nil
	}
	words, err := Words(v)
	if err != nil {
		return err
	}
	for _, w := range words {
		p := Path{Path: w}
		for len(p.Path) > 0 && (p.Path[0] == '-' || p.Path[0] == '+') {
			if p.Path[0] == '+' {
				return fmt.Errorf("%q: the + prefix (relative to RootDirectory) is not modelled", w)
			}
			p.Optional, p.Path = true, p.Path[1:]
		}
		if !path.IsAbs(p.Path) || strings.Contains(p.Path, "%") {
			return fmt.Errorf("%q: want an absolute path without specifiers", w)
		}
		p.Path = path.Clean(p.Path)
		*dst = append(*dst, p)
	}
	return nil
}

func addDirs(dst *[]Dir, base, v string, mode uint32) error {
	if mode == 0 {
		mode = 0o755
	}
	words, err := Words(v)
	if err != nil {
		return err
	}
	for _, w := range words {
		if path.IsAbs(w) || strings.Contains(w, "..") || strings.Contains(w, "%") {
			return fmt.Errorf("%q: want a relative name", w)
		}
		*dst = append(*dst, Dir{Path: path.Join(base, w), Mode: mode})
	}
	return nil
}

// addCaps applies one CapabilityBoundingSet= line: names are added to the
// set; a leading ~ means every capability except those named; an empty
// value resets to every capability.
func (sb *Sandbox) addCaps(v string) error {
	if v == "" {
		sb.Capabilities = nil
		return nil
	}
	invert := strings.HasPrefix(v, "~")
	words, err := Words(strings.TrimPrefix(v, "~"))
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for _, w := range words {
		if _, ok := capNumbers[w]; !ok {
			return fmt.Errorf("unknown capability %q", w)
		}
		named[w] = true
	}
	set := map[string]bool{}
	if sb.Capabilities == nil && invert {
		for c := range capNumbers {
			set[c] = true
		}
	}
	for _, c := range sb.Capabilities {
		set[c] = true
	}
	for c := range named {
		set[c] = !invert
	}
	sb.Capabilities = []string{}
	for c, in := range set {
		if in {
			sb.Capabilities = append(sb.Capabilities, c)
		}
	}
	sort.Strings(sb.Capabilities)
	return nil
}

// capNumbers are the capabilities of linux/capability.h.
var capNumbers = map[string]int{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
	"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
	"CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
	"CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
	"CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
	"CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36,
	"CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}

// CapabilityMask is the bit mask of the named capabilities, as
// /proc/PID/status prints CapBnd (all bits for nil: every capability).
func CapabilityMask(names []string) (uint64, error) {
	if names == nil {
		return ^uint64(0), nil
	}
	var m uint64
	for _, n := range names {
		c, ok := capNumbers[n]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		m |= 1 << c
	}
	return m, nil
}
