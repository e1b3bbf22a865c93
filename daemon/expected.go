package daemon

import (
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// ExpectedDuration is the daemon's estimate of the next transaction's length
// from history, exported so `plan` and `status` name the same next window as
// the daemon.
func ExpectedDuration(hist []state.Entry) time.Duration { return expectedDuration(hist) }
