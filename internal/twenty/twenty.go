// Package twenty is what twenty-upgraded believes about Twenty itself, by
// version. Every fact is a row with the first release it holds for and its
// source in Twenty's repository; docs/twenty.md shows the same table (a
// test keeps the two equal). Code asks Has(version, feature) and never
// compares against a version constant of its own.
package twenty

import (
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Feature is something a Twenty release has, or a rule it follows, from
// some version on.
type Feature string

// The features the daemon asks about.
const (
	// ImageMigrates: the server image's entrypoint runs the upgrade (and,
	// later, flushes the cache) on every start, so compose mode needs no
	// migrate command of its own. Older images migrated once, guarded by a
	// marker file: compose-mode targets below it are held.
	ImageMigrates Feature = "image_migrates"
	// WorkspaceUpgradeCommand: `yarn command:prod upgrade` (unversioned)
	// applies the workspace migrations; source mode runs it after
	// database:migrate:prod. Before it the command was upgrade-0.XX.
	WorkspaceUpgradeCommand Feature = "upgrade_command"
	// HealthIndicators: GET /healthz/:indicatorId (database, redis, worker).
	HealthIndicators Feature = "healthz_indicators"
	// HealthApp: GET /healthz/app reports workspaces with pending migrations.
	HealthApp Feature = "healthz_app"
	// AppVersionEnv: the image sets APP_VERSION (vX.Y.Z).
	AppVersionEnv Feature = "app_version_env"
	// RESTClientConfig: GET /client-config answers JSON with appVersion.
	RESTClientConfig Feature = "rest_client_config"
	// UpgradeStatus: `yarn command:prod upgrade:status` exists.
	UpgradeStatus Feature = "upgrade_status"
	// CrossVersion: from here an install may jump straight to any newer
	// release; below it every minor must be visited in order (the default
	// of release.sequential_below).
	CrossVersion Feature = "cross_version_upgrade"
)

// Fact is one row of the capability table.
type Fact struct {
	Feature Feature
	Since   version.V // first release with it
	What    string    // in words, for docs and dry runs
	Source  string    // PR, issue or path in twentyhq/twenty
}

// Facts is the capability table. Where the first release could not be
// pinned exactly, Since is the first release known to have it, so the
// daemon never asks an older release for something it may not have.
var Facts = []Fact{
	{WorkspaceUpgradeCommand, version.MustParse("v0.43.0"), "`yarn command:prod upgrade` applies the workspace migrations (before: upgrade-0.XX per release)",
		"upgrade guide, section v0.42 → v0.43 (packages/twenty-website/src/content/developers/self-hosting/upgrade-guide.mdx)"},
	{HealthIndicators, version.MustParse("v0.43.0"), "GET /healthz/:indicatorId for database, redis, worker",
		"PR #10186 (Feb 2025; v0.42.0 was released 2025-02-18, so v0.43.0 is the first release sure to have it); health.controller.ts"},
	{HealthApp, version.MustParse("v0.44.0"), "GET /healthz/app: workspaces with pending migrations",
		"v0.44 release notes (App Health Check), indicators/app.health.ts"},
	{AppVersionEnv, version.MustParse("v0.50.0"), "the image sets APP_VERSION=vX.Y.Z",
		"PR #10751 (Dockerfile ARG/ENV APP_VERSION, merged mid-March 2025; v0.50.0 is the first release sure to have it)"},
	{ImageMigrates, version.MustParse("v0.53.0"), "the server image runs the upgrade on every start",
		"PR #11834 (packages/twenty-docker/twenty/entrypoint.sh: migrate and upgrade on every start), upgrade guide \"Since v0.53\""},
	{RESTClientConfig, version.MustParse("v0.55.0"), "GET /client-config answers appVersion",
		"PR #12300 (merged 2025-05-26, after the v0.54 guide of 2025-05-21), client-config.controller.ts"},
	{UpgradeStatus, version.MustParse("v1.22.0"), "`yarn command:prod upgrade:status` reports instance and workspace upgrade state",
		"PR #19584 (2026-04-11, the v1.22 upgrade engine; first seen in docs at v1.23.0, so below v1.23 a missing command is tolerated)"},
	{CrossVersion, version.MustParse("v1.23.0"), "from here a jump to the newest release is supported; below, every minor in order",
		"issue #23568 and PR #23575 (guide: v1.23+ before cross-version upgrades); PR #14325, PR #19627 enforce the previous minor"},
}

// Lookup returns the row of f; it panics on a feature not in the table (a
// programming error caught by the tests).
func Lookup(f Feature) Fact {
	for _, x := range Facts {
		if x.Feature == f {
			return x
		}
	}
	panic(fmt.Sprintf("twenty: no fact %q", f))
}

// Has reports whether release v has feature f.
func Has(v version.V, f Feature) bool { return !v.Less(Lookup(f).Since) }

// Since is the first release with f.
func Since(f Feature) version.V { return Lookup(f).Since }

// Lacks explains in words why v does not have f ("" when it has it).
func Lacks(v version.V, f Feature) string {
	x := Lookup(f)
	if !v.Less(x.Since) {
		return ""
	}
	return fmt.Sprintf("not in %s: %s only from %s (%s)", v, x.What, x.Since, x.Source)
}
