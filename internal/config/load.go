package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Error is a configuration problem; the CLI maps it to exit code 78.
// Problems holds one line per problem, each starting with file:line:col when
// the position is known.
type Error struct {
	Path     string
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Load reads path over the defaults and validates the result.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Config{}, &Error{Path: path, Problems: []string{fmt.Sprintf("%s: no such file; copy twenty-upgraded.toml.example there or pass --config FILE", path)}}
		}
		return Config{}, &Error{Path: path, Problems: []string{fmt.Sprintf("%s: %v", path, err)}}
	}
	return Parse(path, data)
}

// Parse decodes data (named path in messages) over the defaults and validates it.
//
// The file is read twice: first into plain maps, where every value of the
// wrong type is found (the decoder into Config would stop at the first, with
// a line but no column); the keys with a wrong type are then left out, so the
// rest is still decoded and validated and every problem is reported at once.
func Parse(path string, data []byte) (Config, error) {
	raw := map[string]any{}
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		return Config{}, syntaxError(path, err)
	}
	pos := keyPositions(data)
	found := typeProblems(raw, reflect.TypeOf(Config{}), "")
	src := data
	if len(found) > 0 {
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(raw); err != nil {
			return Config{}, problemsError(path, pos, found)
		}
		src = buf.Bytes()
	}
	cfg := Default()
	md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&cfg)
	if err != nil {
		if len(found) > 0 { // positions in src are not the file's
			return Config{}, problemsError(path, pos, found)
		}
		return Config{}, syntaxError(path, err)
	}
	cfg.Path = path
	for _, k := range md.Undecoded() {
		name := k.String()
		found = append(found, problem{name, fmt.Sprintf("unknown key %q (check the spelling against twenty-upgraded.toml.example)", name)})
	}
	found = append(found, cfg.validate()...)
	if len(found) > 0 {
		return Config{}, problemsError(path, pos, found)
	}
	cfg.resolvePaths()
	return cfg, nil
}

// problemsError is the *Error for found, in file order, each at its key.
func problemsError(path string, pos positions, found []problem) *Error {
	sort.SliceStable(found, func(i, j int) bool { return pos.line(found[i].key) < pos.line(found[j].key) })
	var problems []string
	for _, p := range found {
		problems = append(problems, fmt.Sprintf("%s:%s: %s", path, pos.at(p.key), p.msg))
	}
	return &Error{Path: path, Problems: problems}
}

// syntaxError is the *Error for a file the TOML parser refuses.
func syntaxError(path string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = fmt.Sprintf("key %q: %s", pe.LastKey, pe.Message)
		}
		col := pe.Position.Col
		if col == 0 {
			col = 1
		}
		return &Error{Path: path, Problems: []string{fmt.Sprintf("%s:%d:%d: %s", path, pe.Position.Line, col, msg)}}
	}
	return &Error{Path: path, Problems: []string{fmt.Sprintf("%s: %v", path, err)}}
}

// resolvePaths makes relative install paths absolute against install.dir.
func (c *Config) resolvePaths() {
	if c.Install.EnvFile != "" && !filepath.IsAbs(c.Install.EnvFile) {
		c.Install.EnvFile = filepath.Join(c.Install.Dir, c.Install.EnvFile)
	}
	if c.Install.ComposeFile != "" && !filepath.IsAbs(c.Install.ComposeFile) {
		c.Install.ComposeFile = filepath.Join(c.Install.Dir, c.Install.ComposeFile)
	}
	if c.Release.File != "" && !filepath.IsAbs(c.Release.File) && c.Path != "" {
		c.Release.File = filepath.Join(filepath.Dir(c.Path), c.Release.File)
	}
}

// positions maps dotted keys ("window.schedule") to "line:col".
type positions map[string]string

func (p positions) at(key string) string {
	if s, ok := p[key]; ok {
		return s
	}
	// A table that was never written in the file: point at its header if any.
	if i := strings.LastIndex(key, "."); i > 0 {
		if s, ok := p[key[:i]]; ok {
			return s
		}
	}
	return "1:1"
}

// line returns the line of key for ordering (0 when unknown).
func (p positions) line(key string) int {
	var l int
	fmt.Sscanf(p.at(key), "%d:", &l)
	return l
}

// keyPositions finds where each key of a simple TOML file is written. It
// understands table headers and "key = value" lines, which is all our config
// uses; it only serves error messages, so an exotic layout costs precision,
// never correctness.
func keyPositions(data []byte) positions {
	pos := positions{}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	depth := 0 // open [ ] of a multi-line array value
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		col := len(raw) - len(strings.TrimLeft(raw, " \t")) + 1
		if depth > 0 {
			depth += strings.Count(trimmed, "[") - strings.Count(trimmed, "]")
			continue
		}
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(trimmed, "["):
			name := strings.Trim(trimmed, "[] \t")
			if i := strings.Index(name, "#"); i >= 0 {
				name = strings.TrimSpace(strings.Trim(name[:i], "[] \t"))
			}
			table = name
			if _, ok := pos[name]; !ok {
				pos[name] = fmt.Sprintf("%d:%d", line, col)
			}
		default:
			eq := strings.Index(trimmed, "=")
			if eq <= 0 {
				continue
			}
			key := strings.Trim(strings.TrimSpace(trimmed[:eq]), `"'`)
			full := key
			if table != "" {
				full = table + "." + key
			}
			pos[full] = fmt.Sprintf("%d:%d", line, col)
			val := trimmed[eq+1:]
			if i := strings.Index(val, "#"); i >= 0 && !strings.ContainsAny(val[:i], `"'`) {
				val = val[:i]
			}
			depth = strings.Count(val, "[") - strings.Count(val, "]")
			if depth < 0 {
				depth = 0
			}
		}
	}
	return pos
}
