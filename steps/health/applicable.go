package health

import (
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/twenty"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// LeftOut is a configured check the gate does not run on a version, and why.
type LeftOut struct {
	Check, Why string
	Since      version.V // the first release that has what the check needs
}

// needs maps a check to the feature the judged version must have for it.
var needs = map[string]twenty.Feature{
	config.CheckDatabase:      twenty.HealthIndicators,
	config.CheckWorker:        twenty.HealthIndicators,
	config.CheckRedis:         twenty.HealthIndicators,
	config.CheckApp:           twenty.HealthApp,
	config.CheckUpgradeStatus: twenty.UpgradeStatus,
}

// Applicable splits the configured checks into those that exist on the
// version judged (the target; the old version during a rollback) and those
// left out, with the reason: asking a release for an endpoint or command it
// does not have would fail a healthy upgrade.
func Applicable(want version.V, checks []string) (run []string, left []LeftOut) {
	for _, c := range checks {
		if f, ok := needs[c]; ok && !want.IsZero() {
			if why := twenty.Lacks(want, f); why != "" {
				left = append(left, LeftOut{c, why, twenty.Since(f)})
				continue
			}
		}
		run = append(run, c)
	}
	return run, left
}

// Describe says, for the dry run, plan and validate, how each check runs
// on want (some checks change their method with the version or the key).
func Describe(want version.V, check string, apiKey bool) string {
	switch check {
	case config.CheckGraphQL:
		if apiKey {
			return "POST /graphql { __typename } with the API key (health.api_key_file) must return data: builds the workspace schema"
		}
		return "POST /graphql { __typename } without an API key: only proves /graphql answers well-formed GraphQL JSON (no 5xx, no time-out); anonymous requests get Twenty's empty schema, so a broken workspace schema (#23012) is NOT caught: set health.api_key_file"
	case config.CheckVersion:
		if !want.IsZero() && !twenty.Has(want, twenty.RESTClientConfig) {
			return fmt.Sprintf("APP_VERSION of the server container == %s (REST /client-config arrived in %s)", want, twenty.Since(twenty.RESTClientConfig))
		}
		return fmt.Sprintf("GET /client-config appVersion == %s", want)
	case config.CheckUpgradeStatus:
		return "yarn command:prod upgrade:status in the server: instance up to date, 0 behind, 0 failed (or No workspaces)"
	case config.CheckContainer:
		return "the server container runs and compose calls it healthy"
	case config.CheckLog:
		return "no upgrade failure line in the server log since the start"
	case config.CheckHealthz:
		return "GET /healthz answers 200 (it only shows the HTTP server is up)"
	}
	return "GET /healthz/" + check + " answers 200 with status ok"
}
