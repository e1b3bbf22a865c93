package steps

import (
	"errors"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps/health"
)

// failureLogLines is how many server log lines a Failure keeps: enough to
// see the cause, short enough for a phone.
const failureLogLines = 8

// failureOf types a forward failure for history and messages: the failing
// step and, when the health gate judged (the health step, or the start step
// waiting for the container), each failing check with its answer and the
// log lines that matter. nil when err names no step.
func failureOf(err error) *state.Failure {
	var se *StepError
	if !errors.As(err, &se) {
		return nil
	}
	f := &state.Failure{Step: se.Step}
	var he *health.Error
	if errors.As(err, &he) {
		for _, r := range he.Judged() {
			f.Checks = append(f.Checks, state.CheckAnswer{Check: r.Check, Answer: r.Answer})
		}
		f.Log = he.LogLines(failureLogLines)
	}
	return f
}
