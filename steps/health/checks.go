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
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/internal/twenty"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// FailureLines are server log lines that mean the upgrade failed, whatever
// the HTTP checks say (docs/twenty.md "Is it really up?": "Upgrade completed with N workspace failure(s)").
var FailureLines = []string{"Upgrade completed with errors", "Upgrade failed", "workspace failure"}

const logTailLines = 20

func (g *Gate) url(path string) string { return strings.TrimRight(g.Cfg.URL, "/") + path }

func (g *Gate) do(ctx context.Context, method, path string, body []byte, auth string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, g.url(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
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

// get passes on HTTP 200 (and a JSON "status", when present, of ok or up).
func (g *Gate) get(ctx context.Context, name, path string) Result {
	code, b, err := g.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return Result{Check: name, Answer: "GET " + path + ": " + err.Error()}
	}
	r := Result{Check: name, Answer: fmt.Sprintf("GET %s: HTTP %d %s", path, code, text.OneLine(string(b), 200)), OK: code == http.StatusOK}
	if code == http.StatusForbidden && strings.HasPrefix(path, "/healthz/") {
		// Some builds guard the indicator routes with a secret header
		// (docs/twenty.md): forbidden says nothing about health.
		r.OK, r.Answer = true, r.Answer+" (the route needs a secret here: not judged)"
		return r
	}
	var st struct {
		Status *string `json:"status"`
	}
	if r.OK && json.Unmarshal(b, &st) == nil && st.Status != nil {
		s := strings.ToLower(*st.Status)
		r.OK = s == "ok" || s == "up"
	}
	return r
}

// graphql asks { __typename }. With an API key the request reaches the
// workspace schema, which must answer data (a broken schema build, #23012,
// fails here). Without one Twenty answers from an empty schema, so the most
// the probe can show is a well-formed GraphQL answer: not a 5xx, not a
// time-out, a JSON object with data or errors (docs/twenty.md).
func (g *Gate) graphql(ctx context.Context) Result {
	code, b, err := g.do(ctx, http.MethodPost, "/graphql", []byte(`{"query":"{ __typename }"}`), g.APIKey)
	if err != nil {
		return Result{Check: config.CheckGraphQL, Answer: "POST /graphql: " + err.Error()}
	}
	return GraphQLAnswer(code, b, g.APIKey != "")
}

// GraphQLAnswer judges an answer to { __typename } (authenticated or not).
func GraphQLAnswer(code int, body []byte, authenticated bool) Result {
	var resp struct {
		Data *struct {
			Typename string `json:"__typename"`
		} `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	wellFormed := json.Unmarshal(body, &resp) == nil && (resp.Data != nil || resp.Errors != nil)
	r := Result{Check: config.CheckGraphQL}
	if authenticated {
		r.OK = code == http.StatusOK && resp.Data != nil && resp.Data.Typename != ""
		r.Answer = fmt.Sprintf("POST /graphql {__typename} with the API key: HTTP %d %s", code, text.OneLine(string(body), 200))
		return r
	}
	r.OK = code < 500 && wellFormed
	r.Answer = fmt.Sprintf("POST /graphql {__typename} (anonymous probe): HTTP %d %s", code, text.OneLine(string(body), 200))
	return r
}

// version compares /client-config's appVersion, wherever Twenty nests it.
func (g *Gate) version(ctx context.Context, want version.V) Result {
	if !twenty.Has(want, twenty.RESTClientConfig) {
		return g.containerVersion(ctx, want)
	}
	code, b, err := g.do(ctx, http.MethodGet, "/client-config", nil, "")
	if err != nil {
		return Result{Check: config.CheckVersion, Answer: "GET /client-config: " + err.Error()}
	}
	var doc any
	if code != http.StatusOK || json.Unmarshal(b, &doc) != nil {
		return Result{Check: config.CheckVersion, Answer: fmt.Sprintf("GET /client-config: HTTP %d %s", code, text.OneLine(string(b), 200))}
	}
	got, ok := FindKey(doc, "appVersion")
	if (!ok || got == "") && g.In.Mode == install.ModeSource {
		// A build from source has no APP_VERSION unless the admin set one
		// (docs/twenty.md): what is checked out is then the version.
		return g.checkoutVersion(ctx, want)
	}
	if !ok {
		return Result{Check: config.CheckVersion, Answer: "GET /client-config: no appVersion in " + text.OneLine(string(b), 200)}
	}
	v, err := version.ParseLoose(got)
	return Result{Check: config.CheckVersion, OK: err == nil && v == want, Answer: fmt.Sprintf("appVersion %q, want %s", got, want)}
}

// checkoutVersion compares the release tag checked out (source mode).
func (g *Gate) checkoutVersion(ctx context.Context, want version.V) Result {
	cur, err := g.In.Current(ctx)
	if err != nil {
		return Result{Check: config.CheckVersion, Answer: "no appVersion in /client-config, and " + err.Error()}
	}
	return Result{Check: config.CheckVersion, OK: cur.Version == want, Answer: fmt.Sprintf("no appVersion in /client-config; checked out %s, want %s", cur.Version, want)}
}

// containerVersion compares the server container's APP_VERSION: releases
// without REST /client-config say their version only there.
func (g *Gate) containerVersion(ctx context.Context, want version.V) Result {
	c, ok, err := g.In.Container(ctx, g.In.Server)
	if err != nil || !ok {
		return Result{Check: config.CheckVersion, Answer: fmt.Sprintf("no running %s container (%v)", g.In.Server, err)}
	}
	v, err := version.ParseLoose(c.AppVersion)
	return Result{Check: config.CheckVersion, OK: err == nil && v == want, Answer: fmt.Sprintf("APP_VERSION %q of the %s container, want %s", c.AppVersion, g.In.Server, want)}
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
	c, ok, err := g.In.Container(ctx, g.In.Server)
	if err != nil || !ok {
		return Result{Check: config.CheckContainer, Answer: fmt.Sprintf("no running %s container (%v)", g.In.Server, err)}
	}
	return ContainerState(c.Status + " " + c.Health)
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
	instanceRe     = regexp.MustCompile(`Instance:\s*(.*)`)
	upToDateRe     = regexp.MustCompile(`^Up to date`)
	cleanRe        = regexp.MustCompile(`(^|[^0-9])0 behind, 0 failed`)
	noWorkspacesRe = regexp.MustCompile(`(?m)^\s*No workspaces\b`)
	ansiRe         = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")
)

// UpgradeStatus judges `yarn command:prod upgrade:status` output: its exit
// code may be 0 on failure, so only the text counts. It passes when the
// instance is up to date (or no instance line is printed) and the
// workspaces are all up to date, or there are none ("No workspaces", what a
// fresh install without workspaces prints).
func UpgradeStatus(out string) Result {
	out = ansiRe.ReplaceAllString(out, "")
	instanceOK, sawInstance := true, false
	if m := instanceRe.FindStringSubmatch(out); m != nil {
		sawInstance, instanceOK = true, upToDateRe.MatchString(strings.TrimSpace(m[1]))
	}
	workspacesOK := cleanRe.MatchString(out) || noWorkspacesRe.MatchString(out)
	r := Result{Check: config.CheckUpgradeStatus, OK: instanceOK && workspacesOK && (sawInstance || noWorkspacesRe.MatchString(out))}
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Instance") || strings.Contains(l, "behind") || strings.Contains(l, "failed") || strings.Contains(l, "No workspaces") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	r.Answer = strings.Join(keep, " | ")
	if r.Answer == "" {
		r.Answer = "no status in output: " + text.OneLine(out, 200)
	}
	return r
}

// upgradeStatusSure is the first release Twenty's docs show upgrade:status
// in; below it (from twenty.UpgradeStatus on) a release that turns out not to
// have the command is not failed for it (docs/twenty.md).
var upgradeStatusSure = version.MustParse("v1.23.0")

var unknownCommandRe = regexp.MustCompile(`(?i)unknown command|is not a known command|command not found`)

func (g *Gate) upgradeStatus(ctx context.Context, want version.V) Result {
	c := g.In.ExecServer(g.CommandTimeout, []string{"NO_COLOR=1"}, "yarn", "command:prod", "upgrade:status")
	res, err := g.Runner.Run(ctx, c)
	out := string(res.Stdout) + "\n" + string(res.Stderr)
	if want.Less(upgradeStatusSure) && unknownCommandRe.MatchString(out) {
		return Result{Check: config.CheckUpgradeStatus, OK: true, Answer: "upgrade:status does not exist in " + want.String() + ": not judged"}
	}
	r := UpgradeStatus(out)
	if err != nil && !r.OK {
		r.Answer = err.Error() + ": " + r.Answer
	}
	return r
}

// serverLog reads the server log since start and fails fatally on a failure line.
func (g *Gate) serverLog(ctx context.Context, since time.Time) (Result, []string) {
	res, err := g.Runner.Run(ctx, g.In.Logs(since))
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
