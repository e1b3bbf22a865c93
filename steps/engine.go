package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/health"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Engine runs, resumes and rolls back upgrade transactions. The daemon and
// the CLI both use it; neither runs steps themselves.
type Engine struct {
	cfg       config.Config
	runner    proc.Runner
	store     Journal
	backups   Backups
	log       *slog.Logger
	now       func() time.Time
	obs       state.Observer
	http      *http.Client
	gate      Gate
	envInject map[string]string
}

// New builds an Engine. Deps.Runner, Store and Backups are required.
func New(cfg config.Config, d Deps) *Engine {
	e := &Engine{cfg: cfg, runner: d.Runner, store: d.Store, backups: d.Backups, log: d.Logger,
		now: d.Now, obs: d.Observer, http: d.HTTP, gate: d.Gate, envInject: injectFromEnv()}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.obs == nil {
		e.obs = nopObserver{}
	}
	if e.http == nil {
		e.http = &http.Client{Timeout: 10 * time.Second}
	}
	return e
}

// Open returns the open transaction, or nil.
func (e *Engine) Open() (*state.Txn, error) { return e.store.Load() }

// Upgrade runs one transaction from the installed version to to. It returns
// nil on success; an error wrapping outcome.ErrRolledBack when it rolled
// back; outcome.ErrHeld when a gate or bad-versions refuses the target; other
// errors when it failed before changing anything, the rollback failed, or it
// was interrupted (the transaction then stays open for Resume).
func (e *Engine) Upgrade(ctx context.Context, to version.V, opt Options) (state.Entry, error) {
	if open, err := e.store.Load(); err != nil {
		return state.Entry{}, err
	} else if open != nil {
		return state.Entry{}, fmt.Errorf("transaction %s (%s → %s) is still open at step %s, phase %s: resume it first (restart the daemon, or run twenty-upgraded rollback)", open.ID, open.From, open.To, open.Step, open.Phase)
	}
	c, err := e.open(ctx)
	if err != nil {
		return state.Entry{}, err
	}
	from, err := e.installed(ctx, c)
	if err != nil {
		return state.Entry{}, err
	}
	if !from.Less(to) {
		return state.Entry{}, fmt.Errorf("%w: %s is installed, nothing to do for --to %s (downgrades are done with twenty-upgraded rollback)", outcome.ErrHeld, from, to)
	}
	if err := e.notBad(to); err != nil && !opt.DryRun {
		return state.Entry{}, err
	}
	now := e.now().UTC()
	id, err := e.uniqueID(now.Format("20060102T150405Z") + "-" + to.String())
	if err != nil {
		return state.Entry{}, err
	}
	txn := &state.Txn{ID: id, Mode: e.cfg.Install.Mode,
		From: from, To: to, Phase: state.PhaseForward, StartedAt: now,
		Facts: state.Facts{Trigger: opt.Trigger, Forced: strings.Join(opt.Forced, ",")}}
	if opt.DryRun {
		return state.Entry{}, e.dryRun(ctx, txn, c, opt)
	}
	r := e.newRunner(txn, c, opt.Inject)
	r.u.Log.Info("upgrade started", "from", from.String(), "to", to.String())
	return e.conclude(ctx, r, r.forward(ctx))
}

func (e *Engine) notBad(to version.V) error {
	bad, err := badVersions(e.store)
	if err != nil {
		return err
	}
	if reason, ok := bad[to]; ok {
		return fmt.Errorf("%w: %s failed here before (%s) and is in bad-versions; delete its line from %s to allow it again", outcome.ErrHeld, to, reason, filepath.Join(e.cfg.Daemon.StateDir, "bad-versions"))
	}
	return nil
}

// badVersions reads bad-versions when the journal is a *state.Store.
func badVersions(j Journal) (map[version.V]string, error) {
	if s, ok := j.(interface {
		BadVersions() (map[version.V]string, error)
	}); ok {
		return s.BadVersions()
	}
	return nil, nil
}

// open reads the install (both modes use compose: source mode's up).
func (e *Engine) open(ctx context.Context) (*install.Install, error) {
	return install.Open(ctx, e.cfg, e.runner)
}

func (e *Engine) installed(ctx context.Context, in *install.Install) (version.V, error) {
	cur, err := in.Current(ctx)
	if err != nil {
		return version.V{}, err
	}
	for _, w := range cur.Warnings {
		e.log.Warn("installed version", "warning", w)
	}
	return cur.Version, nil
}

// newRunner builds the Upgrade and the runner for txn.
func (e *Engine) newRunner(txn *state.Txn, c *install.Install, inj map[string]string) *txnRunner {
	u := &Upgrade{Cfg: e.cfg, From: txn.From, To: txn.To, In: c, Runner: e.runner, Backups: e.backups,
		Log: e.log.With("upgrade_id", txn.ID), HTTP: e.http, Now: e.now, Txn: txn}
	u.Gate = e.gate
	if u.Gate == nil {
		key, err := e.cfg.ReadSecret(e.cfg.Health.APIKeyFile)
		if err != nil {
			u.Log.Warn("health.api_key_file unreadable: the graphql check runs as an anonymous probe", "err", err)
		}
		g := &health.Gate{Cfg: e.cfg.Health, Runner: e.runner, In: c, APIKey: key,
			HTTP: e.http, Now: e.now, CommandTimeout: e.cfg.Timeouts.Command, Log: u.Log}
		g.Observe = func(rs []health.Result) {
			up := make(map[string]bool, len(rs))
			for _, r := range rs {
				up[r.Check] = r.OK
			}
			e.obs.HealthChecks(up)
		}
		u.Gate = g
	}
	u.plan = buildPlan(txn.Mode)
	r := &txnRunner{e: e, u: u, plan: u.plan, inject: newInject(e.envInject, inj)}
	u.persist = r.save
	u.obs = e.obs
	return r
}

// conclude turns the forward result into a finished (or still open) transaction.
func (e *Engine) conclude(ctx context.Context, r *txnRunner, fwdErr error) (state.Entry, error) {
	switch {
	case fwdErr == nil:
		return e.finish(r, state.ResultSuccess, nil)
	case errors.Is(fwdErr, errInterrupted):
		return e.leftOpen(r, fwdErr)
	}
	r.u.Txn.Error = fwdErr.Error()
	if f := failureOf(fwdErr); f != nil {
		r.u.Txn.Failure = f
	}
	return e.rollbackAndFinish(ctx, r, fwdErr)
}

// rollbackAndFinish rolls back and records the result; cause is why.
func (e *Engine) rollbackAndFinish(ctx context.Context, r *txnRunner, cause error) (state.Entry, error) {
	rbErr := r.rollback(ctx)
	switch {
	case rbErr == nil:
	case errors.Is(rbErr, errInterrupted):
		return e.leftOpen(r, rbErr)
	default:
		return e.rollbackFailed(r, cause, rbErr)
	}
	u := r.u
	if !u.Started(StepStop) {
		// Nothing changed yet: the upgrade did not happen, Twenty kept running.
		return e.finish(r, state.ResultFailed, cause)
	}
	if u.newVersionTouched() {
		reason, bad := "rolled back "+u.Txn.ID+": "+text.OneLine(cause.Error(), 200), true
		if r.interrupted {
			// The new version ran but was interrupted (a crash, not its
			// own failure): count the attempt; bad only at the second.
			u.Txn.Interrupted = true
			prior := e.interruptedAttempts(u.To)
			bad = prior >= 1
			if bad {
				reason = fmt.Sprintf("interrupted twice (%s, then %s): %s", e.lastInterrupted(u.To), u.Txn.ID, text.OneLine(cause.Error(), 160))
			} else {
				u.Log.Warn("the new version was interrupted, not failed: it is not marked bad and is tried once more at the next window", "version", u.To)
			}
		}
		if bad {
			if err := e.store.MarkBad(u.To, reason); err != nil {
				u.Log.Error("mark version bad", "err", err)
			}
		}
	}
	return e.finish(r, state.ResultRolledBack, cause)
}

// interruptedAttempts counts the history entries of v that were rolled back
// after an interruption while v ran.
func (e *Engine) interruptedAttempts(v version.V) int {
	n := 0
	for _, en := range e.historyOrNil() {
		if en.To == v && en.Interrupted {
			n++
		}
	}
	return n
}

// lastInterrupted is the ID of v's last interrupted attempt.
func (e *Engine) lastInterrupted(v version.V) string {
	id := ""
	for _, en := range e.historyOrNil() {
		if en.To == v && en.Interrupted {
			id = en.ID
		}
	}
	return id
}

// historyOrNil reads history; unreadable, it counts as no attempt so far
// (the error is reported by every other reader of history).
func (e *Engine) historyOrNil() []state.Entry {
	hist, err := e.store.History()
	if err != nil {
		return nil
	}
	return hist
}

// leftOpen reports an interrupted transaction: state.json stays for Resume.
func (e *Engine) leftOpen(r *txnRunner, err error) (state.Entry, error) {
	_ = r.save()
	r.u.Log.Warn("transaction left open", "step", r.u.Txn.Step, "phase", r.u.Txn.Phase, "err", err)
	return state.Entry{}, fmt.Errorf("transaction %s stays open at step %s (%s): it is resumed when the daemon starts, or run twenty-upgraded rollback: %w", r.u.Txn.ID, r.u.Txn.Step, r.u.Txn.Phase, err)
}
