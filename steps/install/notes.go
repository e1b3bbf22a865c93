package install

import (
	"context"
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Survey reads the installed version for check, plan and status: Open, then
// Current, with the install's notes as warnings. An install that cannot be
// fully read (compose missing, Docker down) still gives what the .env says,
// with the reason as a warning.
func Survey(ctx context.Context, cfg config.Config, r proc.Runner) (Installed, error) {
	_, cur, err := SurveyInstall(ctx, cfg, r)
	return cur, err
}

// SurveyInstall is Survey that also returns the install as read, for the
// commands that show it (status); in is nil when it could not be opened.
func SurveyInstall(ctx context.Context, cfg config.Config, r proc.Runner) (in *Install, cur Installed, err error) {
	in, err = Open(ctx, cfg, r)
	if err != nil {
		cur, cerr := Offline(cfg, r).Current(ctx)
		cur.Warnings = append([]string{"install not fully readable: " + err.Error()}, cur.Warnings...)
		return nil, cur, cerr
	}
	cur, err = in.Current(ctx)
	cur.Warnings = append(cur.Warnings, in.Notes(cfg)...)
	return in, cur, err
}

// Notes are what an admin should know about the install as configured, for
// status, plan, check and validate: each names the fact and what to do.
func (i *Install) Notes(cfg config.Config) []string {
	var out []string
	if i.Spec.S3() && cfg.Backup.Files == "" {
		out = append(out, "uploaded files are in S3 (STORAGE_TYPE=s3): not in any backup this daemon takes; back up the bucket yourself")
	}
	if db := i.Spec.Database; db.External && cfg.Backup.Database != "url" {
		out = append(out, fmt.Sprintf("Twenty's database is on %s (%s), not in the %s service: upgrades are refused until [backup] says database = \"url\" and database_url = \"%s\" (password in a PGPASSFILE)", db.Host, db.From, i.DBSvc, db.URL()))
	}
	if cfg.Health.APIKeyFile == "" {
		out = append(out, "health.api_key_file is not set: the graphql check probes /graphql anonymously, which only proves it answers well-formed GraphQL (no 5xx, no time-out); Twenty gives anonymous requests an empty schema, so a broken workspace schema (#23012) is not caught: create an API key in Settings → APIs and name its file in health.api_key_file")
	}
	if !i.HasSecret("ENCRYPTION_KEY") && i.HasSecret("APP_SECRET") {
		out = append(out, "no ENCRYPTION_KEY in .env: Twenty encrypts stored tokens with APP_SECRET, so APP_SECRET must never change (every backup keeps the .env)")
	}
	return out
}
