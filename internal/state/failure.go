package state

// Failure is why a transaction failed, as the engine saw it, typed so that a
// message or `status` need not parse Error: the step that failed and, when
// the health gate judged, each failing check with its last answer and the
// server log lines that matter. Entries and journals written before it have
// none (Failure nil); their Error still says everything.
type Failure struct {
	Step   string        `json:"step"`             // the step whose Run failed
	Checks []CheckAnswer `json:"checks,omitempty"` // the health checks that failed, each with its last answer
	Log    []string      `json:"log,omitempty"`    // the last server log lines that matter (at most a few)
}

// CheckAnswer is one health check and what it answered last.
type CheckAnswer struct {
	Check  string `json:"check"`
	Answer string `json:"answer"`
}
