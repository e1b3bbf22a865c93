package installtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// ErasDir is the folder of the conformance fixtures: a compose file and a
// .env shaped after Twenty's own at three eras (v0.5x, v1.x, v2.x), in
// cmd/twenty-upgraded/testdata/eras/<era>/.
func ErasDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "cmd", "twenty-upgraded", "testdata", "eras")
}

// Eras are the fixture names, oldest first.
var Eras = []string{"v0.5x", "v1.x", "v2.x"}

// AnswerFromFile is Answer, except that `config --format json` resolves the
// install's own compose file (--file, or docker-compose.yml in the project
// folder) the way compose does for the parts the install model reads: the
// top-level name, the services, each service's image, environment and
// volume mounts, and the top-level volumes. It reads only the YAML shape
// Twenty's compose files use (two-space indentation, short volume syntax,
// environment as a map); TestFakeComposeMatchesReal in steps/install keeps it
// equal to the real `docker compose config` for every era fixture. Without
// a compose file it answers like Answer.
func AnswerFromFile(c proc.Cmd) (res proc.Result, ok bool, err error) {
	s := strings.Join(c.Argv, " ")
	if !strings.HasSuffix(s, " config --format json") {
		return Answer(c)
	}
	path := flag(c.Argv, "--file")
	if path == "" {
		path = filepath.Join(flag(c.Argv, "--project-directory"), "docker-compose.yml")
	}
	data, rerr := os.ReadFile(path)
	if os.IsNotExist(rerr) && flag(c.Argv, "--file") == "" {
		return Answer(c)
	}
	env, eerr := readEnv(c.Argv)
	if rerr == nil {
		rerr = eerr
	}
	var out []byte
	if rerr == nil {
		out, rerr = ComposeFileJSON(data, flag(c.Argv, "--project-name"), env)
	}
	if rerr != nil {
		r, err := proc.Fail(c, 15, rerr.Error())
		return r, true, err
	}
	return proc.Result{Stdout: out}, true, nil
}

var interp = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}`)

// ComposeFileJSON resolves a compose file of Twenty's shape with the .env
// values (the process environment wins, as with compose) into the JSON of
// `docker compose config --format json`, for the keys the install model
// reads.
func ComposeFileJSON(data []byte, project string, env map[string]string) ([]byte, error) {
	lookup := func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := env[k]
		return v, ok
	}
	subst := func(s string) string {
		return interp.ReplaceAllStringFunc(s, func(m string) string {
			p := interp.FindStringSubmatch(m)
			v, set := lookup(p[1])
			switch {
			case p[2] == ":-" && v == "":
				return p[3]
			case p[2] == "-" && !set:
				return p[3]
			}
			return v
		})
	}
	type mount struct {
		Type   string `json:"type"`
		Source string `json:"source"`
		Target string `json:"target"`
	}
	type service struct {
		Image       string            `json:"image,omitempty"`
		Environment map[string]string `json:"environment,omitempty"`
		Volumes     []mount           `json:"volumes,omitempty"`
	}
	doc := struct {
		Name     string                       `json:"name"`
		Services map[string]*service          `json:"services"`
		Volumes  map[string]map[string]string `json:"volumes,omitempty"`
	}{Services: map[string]*service{}, Volumes: map[string]map[string]string{}}

	var top, svc, key string
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, " \r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		k, v, isKey := strings.Cut(trimmed, ":")
		v = strings.TrimSpace(v)
		switch {
		case indent == 0:
			if !isKey {
				return nil, fmt.Errorf("line %d: top-level line without a key: %q", n+1, line)
			}
			top, svc, key = k, "", ""
			if k == "name" {
				doc.Name = subst(unquote(v))
			}
		case top == "services" && indent == 2 && isKey:
			svc, key = k, ""
			doc.Services[svc] = &service{}
		case top == "services" && indent == 4 && svc != "" && isKey:
			key = k
			if k == "image" {
				doc.Services[svc].Image = subst(unquote(v))
			}
		case top == "services" && indent == 6 && key == "environment" && isKey:
			s := doc.Services[svc]
			if s.Environment == nil {
				s.Environment = map[string]string{}
			}
			s.Environment[k] = subst(unquote(stripComment(v)))
		case top == "services" && indent == 6 && key == "volumes" && strings.HasPrefix(trimmed, "- "):
			parts := strings.Split(subst(unquote(strings.TrimSpace(trimmed[2:]))), ":")
			if len(parts) < 2 {
				return nil, fmt.Errorf("line %d: volume %q is not source:target", n+1, trimmed)
			}
			m := mount{Type: "volume", Source: parts[0], Target: filepath.Clean(parts[1])}
			if strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "~") {
				m.Type = "bind"
			}
			doc.Services[svc].Volumes = append(doc.Services[svc].Volumes, m)
		case top == "volumes" && indent == 2 && isKey:
			doc.Volumes[k] = map[string]string{}
		}
	}
	if doc.Name == "" {
		doc.Name = project
	}
	if project != "" {
		doc.Name = project
	}
	if doc.Name == "" {
		doc.Name = "twenty"
	}
	names := make([]string, 0, len(doc.Volumes))
	for k := range doc.Volumes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		doc.Volumes[k]["name"] = doc.Name + "_" + k
	}
	return json.Marshal(doc)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// stripComment removes a trailing " # comment" outside quotes.
func stripComment(s string) string {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, `'`) {
		q := s[:1]
		if end := strings.Index(s[1:], q); end >= 0 {
			return s[:end+2]
		}
		return s
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
