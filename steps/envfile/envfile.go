// Package envfile reads and rewrites the TAG line of a Twenty .env file.
//
// The rewrite is a pure function over bytes: every other line, comment, blank
// line, quoting style, "export " prefix, trailing comment and line ending
// (LF or CRLF) is kept exactly; only the value of the key changes. A missing
// key is appended. The file-touching twin writes atomically.
package envfile

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
)

// line is one physical line split into the parts we keep around the value.
type line struct {
	raw    []byte // the whole line without its terminator
	eol    []byte // "\n", "\r\n" or "" (last line without newline)
	key    string // "" when the line is not an assignment
	valPos [2]int // start, end of the value text (inside quotes if quoted)
	quote  byte   // 0, '"' or '\''
}

func split(data []byte) []line {
	var out []line
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var raw, eol []byte
		if i < 0 {
			raw, data = data, nil
		} else {
			raw, eol, data = data[:i], data[i:i+1], data[i+1:]
			if len(raw) > 0 && raw[len(raw)-1] == '\r' {
				raw, eol = raw[:len(raw)-1], []byte("\r\n")
			}
		}
		out = append(out, parse(raw, eol))
	}
	return out
}

// parse recognises `[export ]KEY=VALUE[ # comment]` with optional quotes.
func parse(raw, eol []byte) line {
	l := line{raw: raw, eol: eol}
	s := string(raw)
	i := len(s) - len(strings.TrimLeft(s, " \t"))
	if strings.HasPrefix(s[i:], "#") {
		return l
	}
	if strings.HasPrefix(s[i:], "export ") {
		i += len("export ")
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	eq := strings.IndexByte(s[i:], '=')
	if eq <= 0 {
		return l
	}
	key := strings.TrimRight(s[i:i+eq], " \t")
	if !validKey(key) {
		return l
	}
	j := i + eq + 1
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	l.key = key
	if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		q := s[j]
		end := strings.IndexByte(s[j+1:], q)
		if end >= 0 {
			l.quote = q
			l.valPos = [2]int{j + 1, j + 1 + end}
			return l
		}
	}
	if j < len(s) && s[j] == '#' && j > i+eq+1 {
		// "KEY= # comment": an empty value followed by a comment.
		l.valPos = [2]int{i + eq + 1, i + eq + 1}
		return l
	}
	// Unquoted: the value ends at " #" (an inline comment) or at trailing space.
	end := len(s)
	if k := strings.Index(s[j:], " #"); k >= 0 {
		end = j + k
	} else if k := strings.Index(s[j:], "\t#"); k >= 0 {
		end = j + k
	}
	for end > j && (s[end-1] == ' ' || s[end-1] == '\t') {
		end--
	}
	l.valPos = [2]int{j, end}
	return l
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Get returns the value of the last assignment of key (the one compose uses).
func Get(data []byte, key string) (string, bool) {
	val, found := "", false
	for _, l := range split(data) {
		if l.key == key {
			val, found = string(l.raw[l.valPos[0]:l.valPos[1]]), true
		}
	}
	return val, found
}

// All returns every assigned key with the value of its last assignment.
func All(data []byte) map[string]string {
	m := map[string]string{}
	for _, l := range split(data) {
		if l.key != "" {
			m[l.key] = string(l.raw[l.valPos[0]:l.valPos[1]])
		}
	}
	return m
}

// Set returns data with every assignment of key given value, or with
// "key=value" appended when there is none. value must be safe unquoted or in
// the line's existing quotes: callers pass validated versions; anything with
// quotes, newlines, spaces, '#' or '$' is refused.
func Set(data []byte, key, value string) ([]byte, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("envfile: %q is not a variable name", key)
	}
	if strings.ContainsAny(value, "\"'\r\n \t#$\\`") {
		return nil, fmt.Errorf("envfile: refusing value %q for %s: it needs quoting", value, key)
	}
	lines := split(data)
	var out bytes.Buffer
	out.Grow(len(data) + len(key) + len(value) + 2)
	found := false
	nl := "\n"
	for _, l := range lines {
		if bytes.Equal(l.eol, []byte("\r\n")) {
			nl = "\r\n"
		}
		if l.key == key {
			found = true
			out.Write(l.raw[:l.valPos[0]])
			out.WriteString(value)
			out.Write(l.raw[l.valPos[1]:])
		} else {
			out.Write(l.raw)
		}
		out.Write(l.eol)
	}
	if !found {
		if n := len(lines); n > 0 && len(lines[n-1].eol) == 0 {
			out.WriteString(nl)
		}
		out.WriteString(key + "=" + value + nl)
	}
	return out.Bytes(), nil
}

// SetFile rewrites key in the file at path atomically, keeping its mode,
// owner and group; a symlinked .env stays a symlink and its target is
// rewritten (atomicfile.Replace).
func SetFile(path, key, value string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	out, err := Set(data, key, value)
	if err != nil {
		return err
	}
	return atomicfile.Replace(path, out, 0o600)
}
