package backup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// pg runs PostgreSQL's client tools either inside the db container
// (`docker exec -i ID TOOL` on the container's ID, resolved once per
// backup or restore, or `<compose> exec -T db TOOL` when it is not known;
// never with a TTY: it would corrupt the stream) or on the host against
// backup.database_url. Passwords never go on a command line: inside the
// container the socket is trusted; on the host libpq reads PGPASSFILE.
type pg struct {
	r         proc.Runner
	in        *install.Install // compose mode (exec in the db service) when set
	container string           // compose mode: the db container's ID ("" = through compose)
	user      string
	url       *url.URL // url mode
	timeout   time.Duration
	log       *slog.Logger
	env       []string // KEY=value for the tools (never secrets: they show in argv in compose mode)
}

// restoreSettings speed up restores: more memory for index builds, and no
// WAL flush per commit (pg_restore commits every object; Twenty has
// thousands). A crash mid-restore is handled by running the restore again,
// and the closing commit of the row-count session (rowCountsAll with
// durable) flushes everything at the end.
const restoreSettings = "-c maintenance_work_mem=128MB -c synchronous_commit=off"

// withEnv returns a copy of p whose tools get kv in their environment.
func (p pg) withEnv(kv ...string) pg {
	p.env = append(append([]string(nil), p.env...), kv...)
	return p
}

// run runs c and logs it with its duration at debug level.
func (p pg) run(ctx context.Context, c proc.Cmd) (proc.Result, error) {
	start := time.Now()
	res, err := p.r.Run(ctx, c)
	if p.log != nil {
		p.log.Debug("command", "argv", c.String(), "duration_seconds", time.Since(start).Seconds(), "err", err)
	}
	return res, err
}

// cmd runs tool against database db ("" = no database option, e.g.
// pg_dumpall or --version): inside the db service, or on the host.
func (p pg) cmd(tool, db string, args ...string) proc.Cmd {
	if p.in != nil {
		argv := []string{tool, "-U", p.user}
		if db != "" {
			argv = append(argv, "-d", db)
		}
		return p.execDB(p.timeout, p.env, append(argv, args...)...)
	}
	return proc.Cmd{Argv: p.hostArgv(tool, db, args...), Timeout: p.timeout, Env: p.env}
}

// execDB runs argv in the db container: on its ID when known, else
// through compose.
func (p pg) execDB(timeout time.Duration, env []string, argv ...string) proc.Cmd {
	if p.container != "" {
		return p.in.ExecContainer(p.container, timeout, env, argv...)
	}
	return p.in.ExecDB(timeout, env, argv...)
}

// hostArgv is the argv of tool on the host against backup.database_url.
func (p pg) hostArgv(tool, db string, args ...string) []string {
	var conn []string
	if db != "" {
		u := *p.url
		u.Path = "/" + db
		u.RawPath = ""
		conn = []string{"-d", u.String()}
	} else if tool == "pg_dumpall" {
		u := *p.url
		u.Path = "/postgres"
		conn = []string{"-d", u.String()}
	}
	return append(append([]string{tool}, conn...), args...)
}

// query runs sql in db and returns the unaligned, tuples-only rows.
func (p pg) query(ctx context.Context, db, sql string) ([][]string, error) {
	c := p.cmd("psql", db, "--no-psqlrc", "--quiet", "--no-align", "--tuples-only", "--field-separator=\t", "--set=ON_ERROR_STOP=1", "--command="+sql)
	res, err := p.run(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", db, err)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(string(res.Stdout), "\n"), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows, nil
}

// exec runs a statement (no output expected).
func (p pg) exec(ctx context.Context, db, sql string) error {
	_, err := p.query(ctx, db, sql)
	return err
}

// adminDB is a database to connect to while acting on target.
func adminDB(target string) string {
	if target == "postgres" {
		return "template1"
	}
	return "postgres"
}

// databases lists the databases to back up: every one that accepts
// connections, except templates and leftovers of our own restore drills.
func (p pg) databases(ctx context.Context) ([]string, error) {
	rows, err := p.query(ctx, "postgres", "select datname from pg_database where not datistemplate and datallowconn and datname not like '"+drillPrefix+"%' order by 1")
	if err != nil {
		return nil, err
	}
	var dbs []string
	for _, r := range rows {
		dbs = append(dbs, r[0])
	}
	return dbs, nil
}

// serverVersion is SHOW server_version; versionNum is server_version_num.
func (p pg) serverVersion(ctx context.Context) (string, int, error) {
	rows, err := p.query(ctx, "postgres", "select current_setting('server_version'), current_setting('server_version_num')")
	if err != nil || len(rows) != 1 || len(rows[0]) != 2 {
		return "", 0, fmt.Errorf("postgres server version: %w", err)
	}
	n, _ := strconv.Atoi(rows[0][1])
	return rows[0][0], n, nil
}

// toolVersion runs `TOOL --version` the same way the tool would run.
func (p pg) toolVersion(ctx context.Context, tool string) (string, error) {
	c := proc.Cmd{Argv: []string{tool, "--version"}, Timeout: time.Minute}
	if p.in != nil {
		c = p.execDB(time.Minute, nil, tool, "--version")
	}
	res, err := p.run(ctx, c)
	if err != nil {
		return "", fmt.Errorf("%s version: %w", tool, err)
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}

// rowCountsSQL counts every ordinary and partitioned table exactly, in one
// statement (query_to_xml runs a count(*) per table).
const rowCountsSQL = `select n.nspname || '.' || c.relname,
 (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r','p') and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg_toast%'
order by 1`

// rowCounts returns the exact row count of every table in db.
func (p pg) rowCounts(ctx context.Context, db string) (map[string]int64, error) {
	rows, err := p.query(ctx, db, rowCountsSQL)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(rows))
	for _, r := range rows {
		if len(r) != 2 {
			return nil, fmt.Errorf("row counts of %s: unexpected line %q", db, strings.Join(r, "\t"))
		}
		n, err := strconv.ParseInt(r[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row counts of %s: %s: %w", db, r[0], err)
		}
		counts[r[0]] = n
	}
	return counts, nil
}

// stream runs a tool with its stdout going to w (a dump streamed to disk)
// and optionally stdin from in.
func (p pg) stream(ctx context.Context, c proc.Cmd, in io.Reader, w io.Writer) error {
	c.Stdin, c.Stdout = in, w
	_, err := p.run(ctx, c)
	return err
}

// dropDatabase ends every connection to db and drops it (if it exists).
func (p pg) dropDatabase(ctx context.Context, db string, versionNum int) error {
	q := quoteIdent(db)
	term := "select pg_terminate_backend(pid) from pg_stat_activity where datname = " + quoteLiteral(db) + " and pid <> pg_backend_pid()"
	if err := p.exec(ctx, adminDB(db), term); err != nil {
		return fmt.Errorf("terminate connections to %s: %w", db, err)
	}
	drop := "drop database if exists " + q
	if versionNum >= 130000 {
		drop += " with (force)"
	}
	if err := p.exec(ctx, adminDB(db), drop); err != nil {
		return fmt.Errorf("drop database %s: %w", db, err)
	}
	return nil
}

func quoteIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// cluster answers, in one query, the server's version and the databases to
// back up (as databases does).
func (p pg) cluster(ctx context.Context) (string, []string, error) {
	rows, err := p.query(ctx, "postgres", "select 0, current_setting('server_version') union all select 1, datname::text from pg_database where not datistemplate and datallowconn and datname not like '"+drillPrefix+"%'")
	if err != nil {
		return "", nil, err
	}
	var version string
	var dbs []string
	for _, r := range rows {
		switch {
		case len(r) == 2 && r[0] == "0":
			version = r[1]
		case len(r) == 2:
			dbs = append(dbs, r[1])
		}
	}
	if version == "" {
		return "", nil, fmt.Errorf("postgres server version: unexpected answer %q", rows)
	}
	sort.Strings(dbs) // byte order, as "order by datname" (type name sorts as C)
	return version, dbs, nil
}

// Lines of the row-count session's output that are not rows (rows always
// hold a tab).
const (
	countsMarker = "@twenty-upgraded-counts "
	countsEnd    = "@twenty-upgraded-end"
)

// rowCountsAll returns the exact row count of every table of every
// database in dbs, from one psql session that \connects to each in turn:
// one process (one docker exec) instead of one per database. With durable
// it ends with a synchronous commit, so every earlier commit (a restore's,
// made with synchronous_commit off) is on disk when it returns.
func (p pg) rowCountsAll(ctx context.Context, dbs []string, durable bool) ([]map[string]int64, error) {
	counts := make([]map[string]int64, len(dbs))
	var script strings.Builder
	script.WriteString("\\set ON_ERROR_STOP 1\n")
	session := []int{} // the databases counted in the session
	for i, db := range dbs {
		counts[i] = map[string]int64{}
		if !connectable(db) { // asked on its own below
			continue
		}
		if len(session) > 0 {
			script.WriteString(p.connectLine(db) + "\n")
		}
		fmt.Fprintf(&script, "\\echo %s%d\n%s;\n", countsMarker, i, rowCountsSQL)
		session = append(session, i)
	}
	first := "postgres"
	if len(session) > 0 {
		first = dbs[session[0]]
	}
	if durable {
		script.WriteString("\\echo " + countsEnd + "\nselect txid_current();\n")
	}
	if len(session) > 0 || durable {
		c := p.cmd("psql", first, "--no-psqlrc", "--quiet", "--no-align", "--tuples-only", "--field-separator=\t", "--file=-")
		c.Stdin = strings.NewReader(script.String())
		res, err := p.run(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("row counts: %w", err)
		}
		cur := -1
		for _, l := range strings.Split(strings.TrimRight(string(res.Stdout), "\n"), "\n") {
			switch {
			case l == "":
			case l == countsEnd:
				cur = -2
			case strings.HasPrefix(l, countsMarker):
				n, err := strconv.Atoi(strings.TrimPrefix(l, countsMarker))
				if err != nil || n < 0 || n >= len(dbs) {
					return nil, fmt.Errorf("row counts: unexpected line %q", l)
				}
				cur = n
			case cur == -2: // the txid of the closing commit
			case cur < 0:
				return nil, fmt.Errorf("row counts: unexpected line %q", l)
			default:
				if err := addCount(counts[cur], dbs[cur], l); err != nil {
					return nil, err
				}
			}
		}
	}
	for i, db := range dbs {
		if !connectable(db) {
			c, err := p.rowCounts(ctx, db)
			if err != nil {
				return nil, err
			}
			counts[i] = c
		}
	}
	return counts, nil
}

// connectable says whether psql's \connect takes db as a plain database
// name: one with "=" or "://" would be read as connection parameters.
func connectable(db string) bool {
	return !strings.Contains(db, "=") && !strings.Contains(db, "://")
}

// connectLine is the psql meta-command that moves a session to db: by name
// inside the container (same socket and user), by the full URL on the
// host (the password from PGPASSFILE, as for every tool).
func (p pg) connectLine(db string) string {
	target := db
	if p.url != nil {
		u := *p.url
		u.Path = "/" + db
		u.RawPath = ""
		target = u.String()
	}
	return `\connect ` + psqlQuote(target)
}

// psqlQuote quotes a meta-command argument: inside single quotes psql
// reads ” as a quote and a backslash as the start of an escape.
func psqlQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// addCount parses one "schema.table<TAB>count" line into counts.
func addCount(counts map[string]int64, db, line string) error {
	r := strings.Split(line, "\t")
	if len(r) != 2 {
		return fmt.Errorf("row counts of %s: unexpected line %q", db, line)
	}
	n, err := strconv.ParseInt(r[1], 10, 64)
	if err != nil {
		return fmt.Errorf("row counts of %s: %s: %w", db, r[0], err)
	}
	counts[r[0]] = n
	return nil
}

// dropDatabases ends every connection to each of dbs and drops it, in one
// psql session connected to template1 (which no set holds: templates are
// not backed up).
func (p pg) dropDatabases(ctx context.Context, dbs []string, versionNum int) error {
	if len(dbs) == 0 {
		return nil
	}
	args := []string{"--no-psqlrc", "--quiet", "--no-align", "--tuples-only", "--set=ON_ERROR_STOP=1"}
	for _, db := range dbs {
		drop := "drop database if exists " + quoteIdent(db)
		if versionNum >= 130000 {
			drop += " with (force)"
		}
		args = append(args,
			"--command=select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = "+quoteLiteral(db)+" and pid <> pg_backend_pid()",
			"--command="+drop)
	}
	if _, err := p.run(ctx, p.cmd("psql", "template1", args...)); err != nil {
		return fmt.Errorf("drop the databases %s: %w", strings.Join(dbs, ", "), err)
	}
	return nil
}
