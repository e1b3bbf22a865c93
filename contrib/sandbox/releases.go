package sandbox

// Behaviours a sandbox release can be built with (TWENTY_SIM_MODE).
const (
	Good          = ""
	CrashLoop     = "crashloop"      // exits non-zero on every start, before touching the database
	Unhealthy     = "unhealthy"      // migrates, then every health endpoint answers 503
	WrongVersion  = "wrong-version"  // healthy, but /client-config reports another version
	GraphQLBroken = "graphql-broken" // /healthz green, GraphQL 500, log "Upgrade completed with errors" (#23012)
	SlowMigration = "slow-migration" // the migration takes longer than any sane gate (SlowMigration below)
	HalfMigration = "half-migration" // commits half a schema change, then exits non-zero: only a restore repairs it
)

// Release is one image tag the sandbox registry can serve.
type Release struct {
	Tag      string
	Mode     string
	Reported string // appVersion reported by a WrongVersion release
	// AppVersion is what the image sets APP_VERSION to ("" = Tag). Twenty's
	// images write it with the v (docs/twenty.md); one sandbox release
	// leaves it out so the daemon is proven to read both.
	AppVersion string
	Note       string
}

// APPVersion is the APP_VERSION the release's image sets.
func (r Release) APPVersion() string {
	if r.AppVersion != "" {
		return r.AppVersion
	}
	return r.Tag
}

// Aliases are the alias tags the registry serves beside the full ones, as
// Docker Hub does (vX.Y → the newest vX.Y.Z); the old guide recommended
// TAG=v0.53-style aliases.
var Aliases = map[string]string{"v1.22": "v1.22.4", "v2.0": "v2.0.2"}

// SlowMigrationDelay is how long a SlowMigration release migrates.
const SlowMigrationDelay = "10m"

// Releases is every tag the sandbox builds, in version order. The good ones
// straddle the v1.23 floor; v2.1.0–v2.6.0 are broken, one way each; v2.7.0 is
// the good release that follows them.
var Releases = []Release{
	{Tag: "v1.19.0", Note: "old: below the floor, adds person.jobTitle"},
	{Tag: "v1.20.0", Note: "old: adds core.apiKey.revokedAt"},
	{Tag: "v1.20.3", Note: "old patch: backfills company.domainName"},
	{Tag: "v1.21.0", Note: "old: adds company.employees with a backfill"},
	{Tag: "v1.21.2", AppVersion: "1.21.2", Note: "old patch; its image writes APP_VERSION without the v"},
	{Tag: "v1.22.0", Note: "creates core.workspaceMigration; upgrade:status from here"},
	{Tag: "v1.22.4", Note: "patch; 1.22.x → 2.x fails (#23568)"},
	{Tag: "v1.23.0", Note: "the floor: adds person.avatarUrl"},
	{Tag: "v2.0.0", Note: "major: creates core.featureFlag"},
	{Tag: "v2.0.2", Note: "patch: metadata sync migration"},
	{Tag: "v2.1.0", Mode: CrashLoop, Note: "crash loop on start"},
	{Tag: "v2.2.0", Mode: Unhealthy, Note: "migrates, never healthy"},
	{Tag: "v2.3.0", Mode: WrongVersion, Reported: "v2.0.2", Note: "healthy, reports v2.0.2"},
	{Tag: "v2.4.0", Mode: GraphQLBroken, Note: "healthz green, GraphQL 500, Upgrade completed with errors"},
	{Tag: "v2.5.0", Mode: SlowMigration, Note: "migration takes 10 minutes"},
	{Tag: "v2.6.0", Mode: HalfMigration, Note: "renames person.name then fails; old release broken too"},
	{Tag: "v2.7.0", Note: "good release after the broken ones"},
}

// Lookup returns the release with tag, or false.
func Lookup(tag string) (Release, bool) {
	for _, r := range Releases {
		if r.Tag == tag {
			return r, true
		}
	}
	return Release{}, false
}

// GoodTags lists the tags of releases that work, in version order.
func GoodTags() []string {
	var out []string
	for _, r := range Releases {
		if r.Mode == Good {
			out = append(out, r.Tag)
		}
	}
	return out
}
