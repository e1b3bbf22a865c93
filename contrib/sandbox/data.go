package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/internal/simkey"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
)

// WorkspaceSchema is the sim's one workspace schema.
const WorkspaceSchema = "workspace_1wgvd1injqtife6y4rvfbu3h5"

// Psql runs SQL through `<compose> exec -T db psql` (the same path Twenty's
// backup guide uses) and returns unaligned, tuples-only output.
func (s *Stack) Psql(ctx context.Context, sql string) (string, error) {
	out, err := s.ComposeIn(ctx, []byte(sql), "exec", "-T", s.DBService(),
		"psql", "-U", "postgres", "-d", "default", "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-q", "-f", "-")
	return strings.TrimSpace(string(out)), err
}

// UpgradeStatus runs `yarn command:prod upgrade:status` in the server.
func (s *Stack) UpgradeStatus(ctx context.Context) (string, error) {
	out, err := s.Compose(ctx, "exec", "-T", "-e", "NO_COLOR=1", "server", "yarn", "command:prod", "upgrade:status")
	return string(out), err
}

// signUpSQL is what signing up does on a fresh install: the first workspace
// (on the instance's version) and, for the tests, a workspace API key
// (Settings → APIs). It prints the key's id.
const signUpSQL = `
INSERT INTO core.workspace (id, "displayName", version)
  SELECT '20202020-1c25-4d02-bf25-6aeccf7ea419', 'Sandbox', ltrim(value, 'v') FROM core."keyValuePair" WHERE key = 'INSTANCE_VERSION'
  ON CONFLICT (id) DO NOTHING;
INSERT INTO core."apiKey" (name, "workspaceId") VALUES ('twenty-upgraded health gate', '20202020-1c25-4d02-bf25-6aeccf7ea419') RETURNING id;
`

// sentinelSQL writes rows in three schemas: core, the workspace and public.
const sentinelSQL = `
INSERT INTO core."keyValuePair" (key, value) VALUES ('SANDBOX_SENTINEL', 'keep me');
INSERT INTO "` + WorkspaceSchema + `".person (name, email)
  SELECT 'Sentinel Person ' || i, 'sentinel' || i || '@example.com' FROM generate_series(1, 50) i;
INSERT INTO "` + WorkspaceSchema + `".company (name, "domainName")
  SELECT 'Sentinel Co ' || i, 'sentinel' || i || '.example.com' FROM generate_series(1, 20) i;
CREATE TABLE IF NOT EXISTS public.sandbox_sentinel (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO public.sandbox_sentinel SELECT i, md5(i::text) FROM generate_series(1, 100) i;
`

// sentinelCheckSQL returns one line per sentinel group: "name count".
const sentinelCheckSQL = `
SELECT 'core ' || count(*) FROM core."keyValuePair" WHERE key = 'SANDBOX_SENTINEL' AND value = 'keep me';
SELECT 'person ' || count(*) FROM "` + WorkspaceSchema + `".person WHERE name LIKE 'Sentinel Person %' AND email LIKE 'sentinel%@example.com';
SELECT 'company ' || count(*) FROM "` + WorkspaceSchema + `".company WHERE name LIKE 'Sentinel Co %' AND "domainName" LIKE 'sentinel%.example.com';
SELECT 'public ' || count(*) FROM public.sandbox_sentinel WHERE note = md5(id::text);
`

const sentinelWant = "core 1\nperson 50\ncompany 20\npublic 100"

// SeedSentinels writes sentinel rows in several schemas and uploads three
// files through the server; CheckSentinels proves they are all still there.
func (s *Stack) SeedSentinels(ctx context.Context) error {
	if err := s.SignUp(ctx); err != nil {
		return err
	}
	if _, err := s.Psql(ctx, sentinelSQL); err != nil {
		return fmt.Errorf("seed sentinel rows: %w", err)
	}
	if s.Opts.S3 {
		return nil // the files are in S3, which the sandbox does not have
	}
	random := make([]byte, 256<<10)
	_, _ = rand.Read(random)
	files := map[string][]byte{
		"sentinel-avatar.bin": random,
		"sentinel-notes.txt":  []byte("sentinel notes: keep me\n"),
		"sentinel-empty.txt":  {},
	}
	for name, b := range files {
		code, body, err := s.do(ctx, http.MethodPost, "/files?name="+url.QueryEscape(name), "application/octet-stream", bytes.NewReader(b))
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("upload %s: HTTP %d %q %v", name, code, truncate(body), err)
		}
		sum := sha256.Sum256(b)
		s.sentinels[name] = hex.EncodeToString(sum[:])
	}
	return nil
}

// CheckSentinels returns an error naming every sentinel row or file that is
// missing or changed. The files are read back through the server.
func (s *Stack) CheckSentinels(ctx context.Context) error {
	got, err := s.Psql(ctx, sentinelCheckSQL)
	if err != nil {
		return fmt.Errorf("read sentinel rows: %w", err)
	}
	if got != sentinelWant {
		return fmt.Errorf("sentinel rows changed: got %q, want %q", got, sentinelWant)
	}
	for name, want := range s.sentinels {
		code, body, err := s.Get(ctx, "/files/"+url.PathEscape(name))
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("sentinel file %s: HTTP %d %v", name, code, err)
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != want {
			return fmt.Errorf("sentinel file %s changed", name)
		}
	}
	return nil
}

// checksumSQL hashes every column definition and every row of every user
// table, except the worker heartbeat (it changes every two seconds).
const checksumSQL = `
SELECT md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
  SELECT 'rows ' || table_schema || '.' || table_name || ' ' || md5(query_to_xml(
           format('SELECT t.* FROM %I.%I t ORDER BY t::text', table_schema, table_name), true, false, '')::text) AS x
    FROM information_schema.tables
   WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
     AND NOT (table_schema = 'core' AND table_name = 'workerHeartbeat')
  UNION ALL
  SELECT 'col ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '')
    FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
) s;
`

// DBChecksum is one hash over the schema and data of the database (the
// worker heartbeat excluded): equal before and after a rollback.
func (s *Stack) DBChecksum(ctx context.Context) (string, error) {
	return s.Psql(ctx, checksumSQL)
}

// FilesChecksum hashes the files volume through a one-off container, so it
// works whatever state the server is in. It returns "HASH N files M bytes".
func (s *Stack) FilesChecksum(ctx context.Context) (string, error) {
	out, err := runArgv(ctx, "docker", "run", "--rm", "--network", "none",
		"-v", s.Project+"_server-local-data:/data:ro", s.Images.SimBase, "twenty-sim", "checksum", "/data")
	return strings.TrimSpace(string(out)), err
}

// DumpDB writes a custom-format pg_dump of the database to w, through
// `<compose> exec -T db` like the daemon's backup.
func (s *Stack) DumpDB(ctx context.Context, w io.Writer) error {
	c := s.composeCmd("exec", "-T", s.DBService(), "pg_dump", "-U", "postgres", "-d", "default", "-Fc")
	c.Stdout = w
	_, err := run(ctx, c)
	return err
}

// RestoreDB drops and recreates the database, then restores a DumpDB dump.
// Stop server and worker first.
func (s *Stack) RestoreDB(ctx context.Context, dump []byte) error {
	for _, sql := range []string{`DROP DATABASE IF EXISTS "default" WITH (FORCE)`, `CREATE DATABASE "default"`} {
		if _, err := s.Compose(ctx, "exec", "-T", s.DBService(), "psql", "-U", "postgres", "-d", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if _, err := s.ComposeIn(ctx, dump, "exec", "-T", s.DBService(), "pg_restore", "-U", "postgres", "-d", "default", "--exit-on-error"); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// SignUp creates the first workspace and an API key for it, and writes the
// key to APIKeyFile (0600). A fresh install has no workspace until then:
// upgrade:status says "No workspaces".
func (s *Stack) SignUp(ctx context.Context) error {
	out, err := s.Psql(ctx, signUpSQL)
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	id, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return fmt.Errorf("sign up: API key id %q: %w", out, err)
	}
	env, err := os.ReadFile(s.EnvFile)
	if err != nil {
		return err
	}
	secret := envfile.All(env)["APP_SECRET"]
	s.APIKeyFile = filepath.Join(s.Dir, "..", "api-key")
	return os.WriteFile(s.APIKeyFile, []byte(simkey.Token(secret, id)+"\n"), 0o600)
}

// DBService is the compose service holding Twenty's database: db, or extdb
// in the external-PostgreSQL variant.
func (s *Stack) DBService() string {
	if s.Opts.ExternalDB {
		return "extdb"
	}
	return "db"
}
