package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/internal/window"
)

type problem struct {
	key string // dotted key, for the position
	msg string
}

func (c *Config) validate() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf("%s: ", key) + fmt.Sprintf(format, args...)})
	}
	oneOf := func(key, val string, allowed ...string) {
		for _, a := range allowed {
			if val == a {
				return
			}
		}
		add(key, "%q is not one of %s", val, strings.Join(allowed, ", "))
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			add(key, "must be a positive duration such as \"90s\" or \"2h\", got %s", d)
		}
	}
	argv := func(key string, a []string, required bool) {
		if len(a) == 0 {
			if required {
				add(key, "must be a non-empty argv list such as [\"yarn\", \"build\"]")
			}
			return
		}
		if strings.TrimSpace(a[0]) == "" {
			add(key, "the program (first element) is empty")
		}
	}

	// [install]
	in := c.Install
	oneOf("install.mode", in.Mode, "compose", "source")
	if in.Dir == "" || !filepath.IsAbs(in.Dir) {
		add("install.dir", "must be an absolute path, got %q", in.Dir)
	}
	if in.Mode == "compose" {
		if in.EnvFile == "" {
			add("install.env_file", "must name the install's .env (Twenty keeps TAG there)")
		}
		if !validName(in.Project) {
			add("install.project", "%q is not a compose project name (lowercase letters, digits, - and _)", in.Project)
		}
	}
	for key, svc := range map[string]string{"install.server_service": in.ServerService, "install.worker_service": in.WorkerService, "install.db_service": in.DBService} {
		if !validName(svc) {
			add(key, "%q is not a compose service name", svc)
		}
	}
	argv("install.compose_command", in.ComposeCommand, false)

	// [release]
	r := c.Release
	oneOf("release.source", r.Source, "dockerhub", "registry", "github", "file")
	if r.URL != "" {
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("release.url", "%q is not an http(s) base URL", r.URL)
		}
	}
	switch r.Source {
	case "dockerhub", "registry":
		if !validImage(r.Image) {
			add("release.image", "%q is not an image repository such as \"twentycrm/twenty\"", r.Image)
		}
	case "github":
		if parts := strings.Split(r.GithubRepo, "/"); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			add("release.github_repo", "%q is not owner/name", r.GithubRepo)
		}
	case "file":
		if r.File == "" {
			add("release.file", "must name the release list when source = \"file\"")
		}
	}
	if r.Source == "registry" && r.URL == "" {
		add("release.url", "must be the registry's base URL when source = \"registry\" (e.g. \"http://127.0.0.1:5000\")")
	}
	if r.CheckInterval < time.Minute {
		add("release.check_interval", "must be at least 1m, got %s", r.CheckInterval)
	}
	rules, rps := r.parseRules()
	ps = append(ps, rps...)
	c.Release.Typed = rules
	if r.MinAge < 0 {
		add("release.min_age", "must not be negative, got %s", r.MinAge)
	}
	if strings.ContainsAny(r.TokenFile, "\n") {
		add("release.token_file", "must be a file name, not a token")
	}

	// [window]
	// The same constructor the daemon and the CLI use, so validate refuses
	// exactly what run refuses (an @every schedule, say); Load keeps the result.
	if w, err := window.New(c.Window.Schedule, c.Window.Duration); err != nil {
		var key string
		if c.Window.Duration <= 0 {
			key = "window.duration"
		} else {
			key = "window.schedule"
		}
		ps = append(ps, problem{key, err.Error()}) // the message starts with the key
	} else {
		c.Window.Typed = w
	}

	// [backup]
	b := c.Backup
	if b.Dir == "" || !filepath.IsAbs(b.Dir) {
		add("backup.dir", "must be an absolute path, got %q", b.Dir)
	}
	if b.Keep < 1 {
		add("backup.keep", "must be at least 1 (the backup of the last upgrade is needed to roll back), got %d", b.Keep)
	}
	oneOf("backup.database", b.Database, "compose", "url")
	if b.Database == "url" {
		u, err := url.Parse(b.DatabaseURL)
		switch {
		case b.DatabaseURL == "":
			add("backup.database_url", "must be set when database = \"url\" (postgres://user@host:5432/default)")
		case err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql"):
			add("backup.database_url", "is not a postgres:// URL")
		default:
			if _, has := u.User.Password(); has {
				add("backup.database_url", "must not contain a password: put it in a PGPASSFILE (0600) instead")
			}
		}
	}
	oneOf("backup.format", b.Format, "custom", "plain")
	oneOf("backup.verify", b.Verify, "none", "list", "restore")

	// [health]
	h := c.Health
	if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("health.url", "%q is not an http(s) URL of the Twenty server", h.URL)
	}
	positive("health.timeout", h.Timeout)
	positive("health.interval", h.Interval)
	if h.StableFor < 0 {
		add("health.stable_for", "must not be negative")
	}
	if h.Timeout > 0 && h.StableFor >= h.Timeout {
		add("health.stable_for", "(%s) must be shorter than health.timeout (%s)", h.StableFor, h.Timeout)
	}
	known := knownChecks()
	for _, ch := range h.Checks {
		if !known[ch] {
			add("health.checks", "unknown check %q (known: %s, redis)", ch, strings.Join(AllChecks(), ", "))
		}
	}

	// [hooks] and [source]
	argv("hooks.pre_upgrade", c.Hooks.PreUpgrade, false)
	argv("hooks.post_upgrade", c.Hooks.PostUpgrade, false)
	argv("hooks.on_rollback", c.Hooks.OnRollback, false)
	argv("hooks.on_failure", c.Hooks.OnFailure, false)
	if in.Mode == "source" {
		argv("source.fetch", c.Source.Fetch, true)
		argv("source.install", c.Source.Install, false)
		argv("source.build", c.Source.Build, false)
		argv("source.migrate", c.Source.Migrate, false)
		argv("source.upgrade", c.Source.Upgrade, false)
		argv("source.clean", c.Source.Clean, false)
		argv("source.flush_cache", c.Source.FlushCache, false)
		argv("source.up", c.Source.Up, false)
	}

	// [timeouts]
	t := c.Timeouts
	for key, d := range map[string]time.Duration{"timeouts.command": t.Command, "timeouts.pull": t.Pull, "timeouts.stop": t.Stop,
		"timeouts.backup": t.Backup, "timeouts.restore": t.Restore, "timeouts.start": t.Start, "timeouts.build": t.Build, "timeouts.hook": t.Hook} {
		positive(key, d)
	}

	// [daemon]
	d := c.Daemon
	if d.StateDir == "" || !filepath.IsAbs(d.StateDir) {
		add("daemon.state_dir", "must be an absolute path, got %q", d.StateDir)
	}
	if d.Listen != "" {
		if _, _, err := net.SplitHostPort(d.Listen); err != nil {
			add("daemon.listen", "%q is not host:port (\"\" turns the HTTP listener off)", d.Listen)
		} else if !d.AllowRemote && !Loopback(d.Listen) {
			add("daemon.listen", "%q is reachable from other machines, and /metrics and /api/v1/status answer anyone without a token: "+
				"listen on 127.0.0.1:PORT (scrape through a reverse proxy), or set daemon.allow_remote = true and firewall it", d.Listen)
		}
	}
	oneOf("daemon.log_format", d.LogFormat, "text", "json")
	oneOf("daemon.log_level", d.LogLevel, "debug", "info", "warn", "error")
	if d.MaxResumes < 1 {
		add("daemon.max_resumes", "must be at least 1, got %d", d.MaxResumes)
	}
	positive("daemon.stop_grace", d.StopGrace)

	// [notify]
	n := c.Notify
	positive("notify.timeout", n.Timeout)
	events := map[string]bool{}
	for _, e := range AllEvents() {
		events[e] = true
	}
	for _, e := range n.Events {
		if !events[e] {
			add("notify.events", "unknown event %q (known: %s)", e, strings.Join(AllEvents(), ", "))
		}
	}
	if strings.Contains(n.URLsFile, "://") {
		add("notify.urls_file", "must be a file name, not a URL: the URLs hold tokens, so they go in that file (0600)")
	}

	sortProblems(ps)
	return ps
}

// Loopback reports whether the listen address host:port only accepts
// connections from this machine: a host in 127.0.0.0/8, ::1 or "localhost".
// An empty host (":9787"), 0.0.0.0 and :: are every interface; any other name
// may resolve anywhere. "" (no listener) counts as loopback.
func Loopback(listen string) bool {
	if listen == "" {
		return true
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sortProblems orders by key so messages are stable (maps above iterate randomly).
func sortProblems(ps []problem) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].msg < ps[j-1].msg; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_'))
		if !ok {
			return false
		}
	}
	return true
}

func validImage(s string) bool {
	if s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return false
		}
	}
	return true
}

// parseRules is the one parser of the [release] policy strings; Load keeps
// its result in Release.Typed.
func (r Release) parseRules() (Rules, []problem) {
	var ps []problem
	add := func(key string, err error) { ps = append(ps, problem{key, key + ": " + err.Error()}) }
	var out Rules
	var err error
	if out.Track, err = version.ParseStep(r.Track); err != nil {
		add("release.track", err)
	}
	if out.Constraint, err = version.ParseConstraint(r.Constraint); err != nil {
		add("release.constraint", err)
	}
	out.Skip = make(map[version.V]bool, len(r.Skip))
	for _, s := range r.Skip {
		v, err := version.Parse(s)
		if err != nil {
			add("release.skip", err)
			continue
		}
		out.Skip[v] = true
	}
	if r.SequentialBelow != "" {
		if out.SequentialBelow, err = version.Parse(r.SequentialBelow); err != nil {
			add("release.sequential_below", err)
		}
	}
	return out, ps
}
