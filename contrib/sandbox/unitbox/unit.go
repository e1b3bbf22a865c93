// Package unitbox gives a process the file-system view and the privileges a
// systemd unit would give it, without systemd: the unit file is parsed, its
// ProtectSystem, ReadWritePaths, ReadOnlyPaths, InaccessiblePaths,
// PrivateTmp, PrivateDevices, ProtectHome, ProtectKernelTunables,
// ProtectControlGroups, ProtectKernelModules and State/Cache/Logs/Runtime/
// ConfigurationDirectory lines become mounts in a private mount namespace,
// and its Environment, UMask, WorkingDirectory, NoNewPrivileges and
// CapabilityBoundingSet are applied before the program is executed.
//
// It exists because systemd cannot run as PID 1 in a container on the
// machines the tests run on (Docker refuses privileged containers), while
// mount namespaces work. docs/install.md says what this proves and what
// only a real systemd would (the system-call filter, address families,
// namespace restrictions and the rest listed in NotModelled).
//
// Parse and Plan are pure; Apply (linux only) makes the mounts and must run
// in a mount namespace of its own: it refuses to run in PID 1's.
package unitbox

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Unit is a parsed unit file: every assignment of every section, in order.
type Unit struct {
	Name     string
	Sections map[string][]Assignment
}

// Assignment is one Key=Value line (continuations joined).
type Assignment struct {
	Key, Value string
	Line       int
}

// Parse reads a unit file as systemd.syntax(7) describes it: [Section]
// headers, Key=Value lines with the whitespace around "=" removed, comment
// lines starting with # or ;, and a trailing backslash continuing a line.
func Parse(r io.Reader, name string) (*Unit, error) {
	u := &Unit{Name: name, Sections: map[string][]Assignment{}}
	sc := bufio.NewScanner(r)
	section, n := "", 0
	var cont *Assignment
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cont != nil {
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
				continue // comments inside a continued line are skipped
			}
			more, goOn := strings.CutSuffix(line, `\`)
			cont.Value += " " + strings.TrimSpace(more)
			if !goOn {
				u.Sections[section] = append(u.Sections[section], *cont)
				cont = nil
			}
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: section header %q has no closing ]", name, n, line)
			}
			section = line[1 : len(line)-1]
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("%s:%d: %q is outside any [Section]", name, n, line)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: %q is not Key=Value", name, n, line)
		}
		a := Assignment{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: n}
		if more, goOn := strings.CutSuffix(a.Value, `\`); goOn {
			a.Value = strings.TrimSpace(more)
			cont = &a
			continue
		}
		u.Sections[section] = append(u.Sections[section], a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cont != nil {
		return nil, fmt.Errorf("%s:%d: the file ends inside a continued line", name, cont.Line)
	}
	return u, nil
}

// Words splits a value into words as systemd does for lists: separated by
// whitespace, with "double" or 'single' quotes keeping spaces inside a word.
func Words(v string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range v {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", v)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
