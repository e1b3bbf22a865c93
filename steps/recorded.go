package steps

import (
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// History is append-only and one line per transaction: an ID already in it
// is never written again. Two paths used to write one twice:
//
//   - a crash after appending the result and before removing state.json: the
//     transaction has concluded, only the cleanup is left (concluded);
//   - a manual rollback after rollback_failed: the failure is recorded as it
//     happened, and the rollback a person ran is a transaction of its own,
//     with its own ID naming the one it closes (manualID).

// record appends en to history unless its ID is there already. A history
// that cannot be read does not stop the result from being recorded.
func (e *Engine) record(en state.Entry) error {
	if prev, ok, err := e.recorded(en.ID); err != nil {
		e.log.Warn("history unreadable: recording the result without checking for a duplicate", "err", err, "upgrade_id", en.ID)
	} else if ok {
		e.log.Warn("transaction already in history: not recorded again", "upgrade_id", en.ID, "result", prev.Result)
		return nil
	}
	return e.store.Append(en)
}

// recorded returns the history entry with this ID.
func (e *Engine) recorded(id string) (state.Entry, bool, error) {
	h, err := e.store.History()
	if err != nil {
		return state.Entry{}, false, err
	}
	for _, en := range h {
		if en.ID == id {
			return en, true, nil
		}
	}
	return state.Entry{}, false, nil
}

// concluded reports whether the open transaction t has its final result in
// history already: the process died before removing state.json. A recorded
// failed rollback (it carries the recovery commands) is not concluded: it
// waits for a person, and t is marked so when its own save was lost.
func (e *Engine) concluded(t *state.Txn) (state.Entry, bool, error) {
	en, ok, err := e.recorded(t.ID)
	if err != nil || !ok {
		return state.Entry{}, false, err
	}
	if en.Recovery == "" {
		return en, true, nil
	}
	if t.Phase != state.PhaseFailed {
		t.Phase, t.Recovery = state.PhaseFailed, en.Recovery
		if err := e.store.Save(t); err != nil {
			return state.Entry{}, false, err
		}
	}
	return state.Entry{}, false, nil
}

// closeRecorded finishes the cleanup a crash interrupted: state.json goes,
// nothing runs again (the hooks of that transaction ran or are lost with the
// process), and the recorded outcome is returned as finish would have. The
// observer is not told: the daemon counts recorded results from history when
// it starts, and would count this one twice.
func (e *Engine) closeRecorded(en state.Entry) (state.Entry, error) {
	if err := e.store.Clear(); err != nil {
		return en, fmt.Errorf("clear state.json of %s, already recorded in history: %w", en.ID, err)
	}
	e.log.Warn("open transaction was already recorded in history: state.json cleared, nothing run again", "upgrade_id", en.ID, "result", en.Result)
	switch en.Result {
	case state.ResultSuccess:
		return en, nil
	case state.ResultRolledBack:
		if en.Facts.Manual != "" {
			return en, nil
		}
		return en, fmt.Errorf("%w: %s → %s, %s runs again: %s", outcome.ErrRolledBack, en.From, en.To, en.From, en.Error)
	}
	// Failed without a manual recovery: it ended before Twenty was stopped.
	return en, fmt.Errorf("%w: transaction %s (%s → %s) failed: %s", ErrNothingChanged, en.ID, en.From, en.To, en.Error)
}

// manualID is the ID of a rollback a person runs to close transaction of:
// "<now>-rollback-<of>", made unique against history.
func (e *Engine) manualID(of string) (string, error) {
	return e.uniqueID(e.now().UTC().Format("20060102T150405Z") + "-rollback-" + of)
}

// uniqueID is base, or base-2, base-3, …: the first that history does not
// hold. A new transaction must never take a recorded ID: its result would
// not be recorded, and after a crash it would count as concluded. Two in
// the same second to the same version happen: a retry right after a
// failure before any change, or the upgrade that goes on after a resume
// closed such a failure.
func (e *Engine) uniqueID(base string) (string, error) {
	id := base
	for n := 2; ; n++ {
		_, ok, err := e.recorded(id)
		if err != nil || !ok {
			return id, err
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}
