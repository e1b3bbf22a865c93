package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// FailureLines are server log lines that mean the upgrade failed, whatever
// the HTTP checks say (TWENTY.md: "Upgrade completed with N workspace failure(s)").
var FailureLines = []string{"Upgrade completed with errors", "Upgrade failed", "workspace failure"}

const logTailLines = 20

func (g *Gate) url(path string) string { return strings.TrimRight(g.Cfg.URL, "/") + path }

func (g *Gate) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, g.url(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := g.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// get passes on HTTP 200 (and a JSON "status", when present, of ok or up).
func (g *Gate) get(ctx context.Context, name, path string) Result {
	code, b, err := g.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return Result{Check: name, Answer: "GET " + path + ": " + err.Error()}
	}
	r := Result{Check: name, Answer: fmt.Sprintf("GET %s: HTTP %d %s", path, code, excerpt(b)), OK: code == http.StatusOK}
	var st struct {
		Status *string `json:"status"`
	}
	if r.OK && json.Unmarshal(b, &st) == nil && st.Status != nil {
		s := strings.ToLower(*st.Status)
		r.OK = s == "ok" || s == "up"
	}
	return r
}

func (g *Gate) graphql(ctx context.Context) Result {
	code, b, err := g.do(ctx, http.MethodPost, "/graphql", []byte(`{"query":"{ __typename }"}`))
	if err != nil {
		return Result{Check: config.CheckGraphQL, Answer: "POST /graphql: " + err.Error()}
	}
	var resp struct {
		Data struct {
			Typename string `json:"__typename"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &resp)
	return Result{Check: config.CheckGraphQL, OK: code == http.StatusOK && resp.Data.Typename != "",
		Answer: fmt.Sprintf("POST /graphql {__typename}: HTTP %d %s", code, excerpt(b))}
}

// version compares /client-config's appVersion, wherever Twenty nests it.
func (g *Gate) version(ctx context.Context, want version.V) Result {
	code, b, err := g.do(ctx, http.MethodGet, "/client-config", nil)
	if err != nil {
		return Result{Check: config.CheckVersion, Answer: "GET /client-config: " + err.Error()}
	}
	var doc any
	if code != http.StatusOK || json.Unmarshal(b, &doc) != nil {
		return Result{Check: config.CheckVersion, Answer: fmt.Sprintf("GET /client-config: HTTP %d %s", code, excerpt(b))}
	}
	got, ok := FindKey(doc, "appVersion")
	if !ok {
		return Result{Check: config.CheckVersion, Answer: "GET /client-config: no appVersion in " + excerpt(b)}
	}
	v, err := version.Parse(got)
	if err != nil {
		v, err = version.Parse("v" + got)
	}
	return Result{Check: config.CheckVersion, OK: err == nil && v == want, Answer: fmt.Sprintf("appVersion %q, want %s", got, want)}
}

// FindKey returns the first string value under key at any depth of doc.
func FindKey(doc any, key string) (string, bool) {
	switch d := doc.(type) {
	case map[string]any:
		if s, ok := d[key].(string); ok {
			return s, true
		}
		for _, v := range d {
			if s, ok := FindKey(v, key); ok {
				return s, true
			}
		}
	case []any:
		for _, v := range d {
			if s, ok := FindKey(v, key); ok {
				return s, true
			}
		}
	}
	return "", false
}

func (g *Gate) container(ctx context.Context) Result {
	r := Result{Check: config.CheckContainer}
	id, err := g.Compose.ContainerID(ctx, g.Runner, g.Server)
	if err != nil || id == "" {
		r.Answer = fmt.Sprintf("no running %s container (%v)", g.Server, err)
		return r
	}
	res, err := g.Runner.Run(ctx, proc.Cmd{Timeout: g.CommandTimeout, Argv: []string{"docker", "inspect", "--format",
		"{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", id}})
	if err != nil {
		r.Answer = err.Error()
		return r
	}
	return ContainerState(strings.TrimSpace(string(res.Stdout)))
}

// ContainerState judges "<State.Status> <Health.Status|none>": healthy, or
// running without a health check.
func ContainerState(s string) Result {
	f := strings.Fields(s)
	r := Result{Check: config.CheckContainer, Answer: "container " + s}
	r.OK = len(f) == 2 && f[0] == "running" && (f[1] == "healthy" || f[1] == "none")
	return r
}

var (
	upToDateRe = regexp.MustCompile(`Instance:\s*Up to date`)
	cleanRe    = regexp.MustCompile(`(^|[^0-9])0 behind, 0 failed`)
	ansiRe     = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")
)

// UpgradeStatus judges `yarn command:prod upgrade:status` output: its exit
// code may be 0 on failure, so only the text counts.
func UpgradeStatus(out string) Result {
	out = ansiRe.ReplaceAllString(out, "")
	r := Result{Check: config.CheckUpgradeStatus, OK: upToDateRe.MatchString(out) && cleanRe.MatchString(out)}
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Instance") || strings.Contains(l, "behind") || strings.Contains(l, "failed") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	r.Answer = strings.Join(keep, " | ")
	if r.Answer == "" {
		r.Answer = "no status in output: " + excerpt([]byte(out))
	}
	return r
}

func (g *Gate) upgradeStatus(ctx context.Context) Result {
	c := g.Compose.Cmd(g.CommandTimeout, "exec", "-T", "-e", "NO_COLOR=1", g.Server, "yarn", "command:prod", "upgrade:status")
	c.Env = []string{"NO_COLOR=1"}
	res, err := g.Runner.Run(ctx, c)
	r := UpgradeStatus(string(res.Stdout) + "\n" + string(res.Stderr))
	if err != nil && !r.OK {
		r.Answer = err.Error() + ": " + r.Answer
	}
	return r
}

// serverLog reads the server log since start and fails fatally on a failure line.
func (g *Gate) serverLog(ctx context.Context, since time.Time) (Result, []string) {
	res, err := g.Runner.Run(ctx, g.Compose.Cmd(g.CommandTimeout, "logs", "--no-color", "--since", since.UTC().Format(time.RFC3339), g.Server))
	if err != nil {
		return Result{Check: config.CheckLog, Answer: "read server log: " + err.Error()}, nil
	}
	return LogResult(string(res.Stdout) + string(res.Stderr))
}

// LogResult judges the server log and returns its last lines.
func LogResult(log string) (Result, []string) {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	tail := lines
	if len(tail) > logTailLines {
		tail = tail[len(tail)-logTailLines:]
	}
	for _, l := range lines {
		for _, f := range FailureLines {
			if strings.Contains(l, f) {
				return Result{Check: config.CheckLog, Fatal: true, Answer: "failure line in the server log: " + strings.TrimSpace(l)}, tail
			}
		}
	}
	return Result{Check: config.CheckLog, OK: true, Answer: "no failure line"}, tail
}
