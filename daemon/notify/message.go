// Package notify tells a person what needs one (issue 12, docs/notify.md):
// a release held for approval, an upgrade rolled back, a rollback that
// failed, and the rest of config.AllEvents, through shoutrrr URLs.
//
// Send never blocks its caller beyond putting the event on a queue: one
// background goroutine per URL sends to it (so a receiver that hangs delays
// only its own messages), each attempt bounded by the configured timeout,
// retried with back-off, and counts each result through
// a hook (the daemon's twenty_upgraded_notifications_total). What was sent
// is remembered in the state folder (notify-sent.json), so a restart does
// not send it again; rollback_failed is sent again every hour until Clear.
package notify

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// Event is one thing to tell. Kind is a config.Event* name; the other
// fields are the facts its message names (those that do not apply stay
// empty).
type Event struct {
	Kind string
	// Key tells one occurrence from another for the dedupe: the version, a
	// transaction ID. Two events with the same Kind and Key are one message.
	Key string

	Version  string        // held_for_approval: the version waiting
	Why      string        // held_for_approval: why it is held; resumed: what was interrupted
	From, To string        // started, succeeded, rolled_back, rollback_failed, resumed
	Downtime time.Duration // succeeded
	BackupID string        // succeeded, rolled_back, rollback_failed, backup_failed
	// Checks (rolled_back) are the health checks that failed, each with
	// its answer (state.Failure's); none when no check judged, then Error.
	Checks   []state.CheckAnswer
	LogLines []string // rolled_back: the log lines that matter
	Error    string   // rolled_back without Checks, rollback_failed, backup_failed, source_failing: the error
	Recovery string   // rollback_failed: the manual recovery commands, verbatim
	Failures int      // source_failing: checks failed in a row
	Source   string   // source_failing: which source

	// Check and Answer are one failing check as an older version queued it
	// (event_data in notify-sent.json); Render still reads them.
	Check, Answer string
}

// Site is what every message names: where this is.
type Site struct {
	Host      string // the machine's host name
	TwentyURL string // health.url
	StateDir  string // daemon.state_dir, for bad-versions
	APIURL    string // http://daemon.listen, "" when the listener is off
	TokenFile string // daemon.api_token_file as configured, "" when the API refuses POSTs
}

// Render is the title and the plain-text body of ev: short, specific,
// readable on a phone.
func Render(ev Event, s Site) (title, body string) {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	where := fmt.Sprintf("%s (%s)", s.Host, s.TwentyURL)
	switch ev.Kind {
	case config.EventHeldForApproval:
		title = fmt.Sprintf("Twenty %s waits for approval on %s", ev.Version, s.Host)
		line("Twenty %s is ready to install on %s and waits for your approval.", ev.Version, where)
		if ev.Why != "" {
			line("Why: %s.", ev.Why)
		}
		if s.APIURL != "" && s.TokenFile != "" {
			line(`To approve it: curl -X POST -H "Authorization: Bearer %s" -d '{"version":"%s"}' %s/api/v1/approve`, tokenArg(s.TokenFile), ev.Version, s.APIURL)
			line("It is then installed in the next maintenance window.")
		}
		// The daemon holds the state lock while it runs: the CLI's
		// upgrade only runs with the daemon stopped.
		line("To install it now: systemctl stop twenty-upgraded && twenty-upgraded upgrade --to %s --yes; systemctl start twenty-upgraded", ev.Version)
	case config.EventStarted:
		title = fmt.Sprintf("Twenty upgrade %s → %s started on %s", ev.From, ev.To, s.Host)
		line("Upgrading Twenty %s → %s on %s. Twenty is down until it finishes.", ev.From, ev.To, where)
	case config.EventSucceeded:
		title = fmt.Sprintf("Twenty upgraded to %s on %s", ev.To, s.Host)
		line("Twenty was upgraded %s → %s on %s.", ev.From, ev.To, where)
		line("Downtime: %s.", ev.Downtime.Round(time.Second))
		if ev.BackupID != "" {
			line("Backup taken before: %s.", ev.BackupID)
		}
	case config.EventRolledBack:
		title = fmt.Sprintf("Twenty %s rolled back on %s", ev.To, s.Host)
		line("The upgrade %s → %s on %s failed and was rolled back: Twenty runs %s again.", ev.From, ev.To, where, ev.From)
		for _, c := range ev.failedChecks() {
			line("Failed check: %s: %s", c.Check, c.Answer)
		}
		if len(ev.failedChecks()) == 0 && ev.Error != "" {
			line("Cause: %s", ev.Error)
		}
		if len(ev.LogLines) > 0 {
			line("Log:")
			for _, l := range ev.LogLines {
				line("  %s", l)
			}
		}
		if ev.BackupID != "" {
			line("Backup used: %s.", ev.BackupID)
		}
		line("%s is now held as failed here and is not installed again.", ev.To)
		line("To retry once the cause is fixed: delete its line from %s/bad-versions.", s.StateDir)
	case config.EventRollbackFailed:
		title = fmt.Sprintf("ROLLBACK FAILED on %s: Twenty may be down", s.Host)
		line("The upgrade %s → %s on %s failed and so did its rollback. Twenty may be down.", ev.From, ev.To, where)
		if ev.Error != "" {
			line("Error: %s", ev.Error)
		}
		if ev.BackupID != "" {
			line("Backup: %s.", ev.BackupID)
		}
		if ev.Recovery != "" {
			line("Recover by hand:")
			b.WriteString(strings.TrimRight(ev.Recovery, "\n") + "\n")
		}
		line("`twenty-upgraded status` shows it. This message repeats every hour until a rollback or restore succeeds.")
	case config.EventBackupFailed:
		title = fmt.Sprintf("Twenty backup failed on %s", s.Host)
		line("A backup of Twenty on %s failed or did not verify.", where)
		if ev.BackupID != "" {
			line("Backup: %s.", ev.BackupID)
		}
		if ev.Error != "" {
			line("Error: %s", ev.Error)
		}
		line("No upgrade runs without a good backup.")
	case config.EventSourceFailing:
		title = fmt.Sprintf("Twenty release source failing on %s", s.Host)
		line("The release source %s failed %d checks in a row on %s.", ev.Source, ev.Failures, s.Host)
		if ev.Error != "" {
			line("Last error: %s", ev.Error)
		}
		line("No new release is found until it answers again.")
	case config.EventResumed:
		title = fmt.Sprintf("Twenty upgrade resumed on %s", s.Host)
		line("twenty-upgraded restarted during the upgrade %s → %s on %s and resumed it.", ev.From, ev.To, where)
		if ev.Why != "" {
			line("State: %s.", ev.Why)
		}
	case eventTest:
		title = fmt.Sprintf("twenty-upgraded test message from %s", s.Host)
		line("This is a test message from twenty-upgraded on %s. Notifications reach you.", where)
	default:
		title = fmt.Sprintf("twenty-upgraded: %s on %s", ev.Kind, s.Host)
		line("%s on %s.", ev.Kind, where)
	}
	return title, strings.TrimRight(b.String(), "\n")
}

// tokenArg is how the approve call reads the API token: from the file
// when its path is absolute, else (a systemd credential) a placeholder.
func tokenArg(file string) string {
	if filepath.IsAbs(file) {
		return "$(cat " + file + ")"
	}
	return "$TOKEN"
}

// failedChecks is Checks, or the one Check of an older queued event.
func (ev Event) failedChecks() []state.CheckAnswer {
	if len(ev.Checks) == 0 && ev.Check != "" {
		return []state.CheckAnswer{{Check: ev.Check, Answer: ev.Answer}}
	}
	return ev.Checks
}

// eventTest is the kind of `notify --test`'s message; never deduplicated.
const eventTest = "test"
