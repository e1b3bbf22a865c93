package steps

import (
	"context"
	"slices"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// step is a Step made of two functions; most steps are a few lines each.
type step struct {
	name string
	run  func(ctx context.Context, u *Upgrade) error
	undo func(ctx context.Context, u *Upgrade) error
}

func (s step) Name() string                                   { return s.name }
func (s step) Run(ctx context.Context, u *Upgrade) error      { return s.run(ctx, u) }
func (s step) Rollback(ctx context.Context, u *Upgrade) error { return s.undo(ctx, u) }

// nothingToUndo is the explicit no-op Rollback of a step that changes nothing
// (or whose change a later step's rollback already covers, as its comment says).
func nothingToUndo(context.Context, *Upgrade) error { return nil }

// plan is a mode's ordered steps.
type plan struct {
	steps  []Step
	change string // the step that switches to the new version: switch or checkout
}

func buildPlan(mode string) plan {
	if mode == string(install.ModeSource) {
		return sourcePlan()
	}
	return composePlan()
}

func (p plan) step(name string) Step {
	for _, s := range p.steps {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

func (p plan) names() []string {
	out := make([]string, len(p.steps))
	for i, s := range p.steps {
		out[i] = s.Name()
	}
	return out
}

// newVersionTouched reports whether a step after the switch started: the new
// version may have run (migrated the database, built), so its data must be
// restored and, when it failed, the version is bad.
func (p plan) newVersionTouched(u *Upgrade) bool {
	names := p.names()
	i := slices.Index(names, p.change)
	for _, n := range names[i+1:] {
		if u.Started(n) {
			return true
		}
	}
	return false
}
