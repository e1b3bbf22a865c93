package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/internal/pgwire"
	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// ws is the one workspace schema of the sandbox instance.
const ws = `"workspace_1wgvd1injqtife6y4rvfbu3h5"`

// floor is the version from which Twenty supports cross-version upgrades
// (docs/twenty.md: PR #23575, issue #23568); below it every minor in order.
var floor = version.MustParse("v1.23.0")

// encryptedFrom is the release that stores secrets in an enc:v2 envelope
// keyed by ENCRYPTION_KEY, or APP_SECRET when it is unset (PR #20528,
// resolve-encryption-keys-or-throw.util.ts).
var encryptedFrom = version.MustParse("v2.5.0")

type migration struct {
	version version.V
	name    string
	sql     string
}

// migrations are forward only; a server applies every one up to its version.
var migrations = []migration{
	{version.MustParse("v1.0.0"), "1700000000000-init", `
CREATE TABLE core.workspace (id uuid PRIMARY KEY, "displayName" text NOT NULL, version text NOT NULL DEFAULT '', "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE TABLE core."keyValuePair" (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE core."workerHeartbeat" (id int PRIMARY KEY, "beatAt" timestamptz NOT NULL);
CREATE TABLE core."apiKey" (id serial PRIMARY KEY, name text NOT NULL, "workspaceId" uuid, "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE SCHEMA ` + ws + `;
CREATE TABLE ` + ws + `.person (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL DEFAULT '');
CREATE TABLE ` + ws + `.company (id serial PRIMARY KEY, name text NOT NULL, "domainName" text NOT NULL DEFAULT '');`},
	{version.MustParse("v1.19.0"), "1719000000000-add-person-job-title",
		`ALTER TABLE ` + ws + `.person ADD COLUMN "jobTitle" text NOT NULL DEFAULT '';`},
	{version.MustParse("v1.20.0"), "1720000000000-api-key-revoked-at",
		`ALTER TABLE core."apiKey" ADD COLUMN "revokedAt" timestamptz;`},
	{version.MustParse("v1.20.3"), "1720300000000-backfill-company-domain",
		`UPDATE ` + ws + `.company SET "domainName" = lower("domainName") WHERE "domainName" <> lower("domainName");`},
	{version.MustParse("v1.21.0"), "1721000000000-add-company-employees",
		`ALTER TABLE ` + ws + `.company ADD COLUMN employees integer; UPDATE ` + ws + `.company SET employees = 0;`},
	{version.MustParse("v1.22.0"), "1722000000000-create-workspace-migration",
		`CREATE TABLE core."workspaceMigration" (id serial PRIMARY KEY, "workspaceId" uuid, name text NOT NULL, "appliedAt" timestamptz NOT NULL DEFAULT now());`},
	{version.MustParse("v1.23.0"), "1723000000000-add-person-avatar",
		`ALTER TABLE ` + ws + `.person ADD COLUMN "avatarUrl" text;`},
	{version.MustParse("v2.0.0"), "1800000000000-create-feature-flag",
		`CREATE TABLE core."featureFlag" (key text PRIMARY KEY, value boolean NOT NULL); INSERT INTO core."featureFlag" VALUES ('IS_AI_ENABLED', false);`},
}

// plan lists the migrations for version v, adding a generic metadata sync for
// a v2.0.1+ release that has none of its own.
func plan(v version.V) []migration {
	var out []migration
	own := false
	for _, m := range migrations {
		if !v.Less(m.version) {
			out = append(out, m)
			own = own || m.version == v
		}
	}
	if !own && version.MustParse("v2.0.0").Less(v) {
		col := strings.NewReplacer("v", "", ".", "_").Replace(v.String())
		out = append(out, migration{v, fmt.Sprintf("%d-sync-metadata-%s", 1800000000000+v.Major*1000000+v.Minor*1000+v.Patch, col), fmt.Sprintf(
			`ALTER TABLE %s.company ADD COLUMN "tag_%s" text; INSERT INTO core."workspaceMigration" (name) VALUES ('sync metadata %s');`, ws, col, v)})
	}
	return out
}

// errUpgrade marks a failed upgrade: the server logs "Upgrade failed" and exits.
var errUpgrade = errors.New("upgrade failed")

// connectRetry waits for the database like Twenty does on start.
func connectRetry(ctx context.Context, url string, wait time.Duration) (*pgwire.Conn, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := pgwire.Connect(ctx, url)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return c, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// dbVersion returns the instance version stored in the database, or zero on
// an empty database. Workspaces (created at sign-up: a fresh install has
// none) carry their own version too.
func dbVersion(ctx context.Context, c *pgwire.Conn) (version.V, error) {
	exists, err := c.Value(ctx, `SELECT to_regclass('core."keyValuePair"') IS NOT NULL`)
	if err != nil || exists != "t" {
		return version.V{}, err
	}
	s, err := c.Value(ctx, `SELECT coalesce(max(value), '') FROM core."keyValuePair" WHERE key = 'INSTANCE_VERSION'`)
	if err != nil || s == "" {
		return version.V{}, err
	}
	return version.ParseLoose(s)
}

// workspaceCounts returns how many workspaces are on the instance's version
// and how many behind it.
func workspaceCounts(ctx context.Context, c *pgwire.Conn, v version.V) (upToDate, behind int, err error) {
	s, err := c.Value(ctx, `SELECT count(*) FILTER (WHERE version = `+pgwire.Quote(bare(v))+`) || ' ' || count(*) FILTER (WHERE version <> `+pgwire.Quote(bare(v))+`) FROM core.workspace`)
	if err != nil {
		return 0, 0, err
	}
	_, err = fmt.Sscan(s, &upToDate, &behind)
	return upToDate, behind, err
}

// bare is v without its leading v, as the workspace table stores it.
func bare(v version.V) string { return strings.TrimPrefix(v.String(), "v") }

// upgrade migrates the database forward to cfg.version, misbehaving as the
// mode says.
func upgrade(ctx context.Context, cfg config, c *pgwire.Conn) error {
	if _, err := c.Query(ctx, `CREATE SCHEMA IF NOT EXISTS core; CREATE TABLE IF NOT EXISTS core."_typeorm_migrations" (id serial PRIMARY KEY, "timestamp" bigint NOT NULL, name text NOT NULL UNIQUE)`); err != nil {
		return fmt.Errorf("%w: %v", errUpgrade, err)
	}
	cur, err := dbVersion(ctx, c)
	if err != nil {
		return fmt.Errorf("%w: read workspace version: %v", errUpgrade, err)
	}
	if err := checkPath(cur, cfg.version); err != nil {
		return err
	}
	switch cfg.mode {
	case modeCrashLoop:
		return fmt.Errorf("%w: Error: Cannot find module '/app/packages/twenty-server/dist/src/database/typeorm/core/migrations/%s'", errUpgrade, cfg.version)
	case modeSlowMigration:
		logf("Running slow migration for %s (%s)...", cfg.version, cfg.slow)
		if err := clock.Sleep(ctx, cfg.slow); err != nil {
			return err
		}
	case modeHalfMigration:
		return halfMigration(ctx, c)
	}
	for _, m := range plan(cfg.version) {
		if err := apply(ctx, c, m); err != nil {
			return err
		}
	}
	if cur.Less(encryptedFrom) && !cfg.version.Less(encryptedFrom) {
		// The first boot on v2.5+ backfills stored secrets into the
		// envelope of the key in use.
		if _, err := c.Query(ctx, `INSERT INTO core."keyValuePair" VALUES ('CONNECTED_ACCOUNT_TOKEN', `+pgwire.Quote(envelope(cfg.encryptionKey))+`) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`); err != nil {
			return fmt.Errorf("%w: encrypt stored secrets: %v", errUpgrade, err)
		}
	}
	instance := fmt.Sprintf(`INSERT INTO core."keyValuePair" VALUES ('INSTANCE_VERSION', %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;`, pgwire.Quote(cfg.version.String()))
	if cfg.mode == modeGraphQLBroken {
		// The instance commands ran, the workspace commands failed: the
		// workspaces stay behind (/healthz/app, upgrade:status see it).
		_, err := c.Query(ctx, instance+`INSERT INTO core."keyValuePair" VALUES ('UPGRADE_STATUS', 'failed') ON CONFLICT (key) DO UPDATE SET value = 'failed'`)
		return err
	}
	_, err = c.Query(ctx, instance+fmt.Sprintf(`UPDATE core.workspace SET version = %s; DELETE FROM core."keyValuePair" WHERE key = 'UPGRADE_STATUS'`,
		pgwire.Quote(bare(cfg.version))))
	return err
}

// envelope is the stand-in of an enc:v2 value: it names the key that sealed
// it, so only that key opens it again.
func envelope(key string) string {
	sum := sha256.Sum256([]byte("twenty-sim:" + key))
	return "enc:v2:" + hex.EncodeToString(sum[:8])
}

// secretsReadable reports whether the stored secrets open with key (a
// changed ENCRYPTION_KEY, or a new one where APP_SECRET sealed them, makes
// every stored token unreadable).
func secretsReadable(ctx context.Context, c *pgwire.Conn, key string) error {
	v, err := c.Value(ctx, `SELECT coalesce(max(value), '') FROM core."keyValuePair" WHERE key = 'CONNECTED_ACCOUNT_TOKEN'`)
	if err != nil || v == "" {
		return err
	}
	if v != envelope(key) {
		return errors.New("cannot decrypt stored secrets (enc:v2): they were encrypted with another key (ENCRYPTION_KEY, or APP_SECRET when it is unset)")
	}
	return nil
}

// checkPath enforces Twenty's rules: never run on a newer database, and below
// the floor go one minor at a time.
func checkPath(cur, target version.V) error {
	if cur.IsZero() {
		return nil
	}
	if target.Less(cur) {
		return fmt.Errorf("%w: workspace is on %s, newer than this server %s; restore the backup taken before the upgrade", errUpgrade, cur, target)
	}
	next := version.V{Major: cur.Major, Minor: cur.Minor + 1}
	if cur.Less(floor) && !target.SameMinor(cur) && !target.SameMinor(next) {
		if cur.Major == 1 && cur.Minor == 22 {
			// Twenty #23568: what 1.22.x → 2.x does for real.
			return fmt.Errorf(`%w: query failed: SELECT "ViewSortEntity"."subFieldName" FROM "core"."viewSort" "ViewSortEntity" -- error: column ViewSortEntity.subFieldName does not exist`, errUpgrade)
		}
		return fmt.Errorf("%w: workspace is on %s; ensure all workspaces are on at least the previous minor version before upgrading to %s", errUpgrade, cur, target)
	}
	return nil
}

func apply(ctx context.Context, c *pgwire.Conn, m migration) error {
	done, err := c.Value(ctx, `SELECT count(*) FROM core."_typeorm_migrations" WHERE name = `+pgwire.Quote(m.name))
	if err != nil {
		return fmt.Errorf("%w: %v", errUpgrade, err)
	}
	if done != "0" {
		return nil
	}
	logf("Running migration %s", m.name)
	ts := strings.SplitN(m.name, "-", 2)[0]
	sql := fmt.Sprintf(`BEGIN; %s INSERT INTO core."_typeorm_migrations" ("timestamp", name) VALUES (%s, %s); COMMIT;`, m.sql, ts, pgwire.Quote(m.name))
	if _, err := c.Query(ctx, sql); err != nil {
		_, _ = c.Query(ctx, "ROLLBACK")
		return fmt.Errorf("%w: migration %s: %v", errUpgrade, m.name, err)
	}
	return nil
}

// halfMigration commits the first half of a two-part change, then fails the
// second half for real: the old release cannot run on what is left.
func halfMigration(ctx context.Context, c *pgwire.Conn) error {
	logf("Running migration 1899000000000-split-person-name")
	if _, err := c.Query(ctx, `ALTER TABLE `+ws+`.person RENAME COLUMN name TO "fullName"`); err != nil {
		return fmt.Errorf("%w: migration 1899000000000-split-person-name: %v", errUpgrade, err)
	}
	_, err := c.Query(ctx, `ALTER TABLE `+ws+`.person ADD COLUMN "firstName" text; UPDATE `+ws+`.person SET "firstName" = split_part(name, ' ', 1)`)
	return fmt.Errorf("%w: migration 1899000000000-split-person-name: %v", errUpgrade, err)
}
