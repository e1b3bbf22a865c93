package state

import "time"

// Facts are what a transaction records to undo itself and to report, one
// field each. The JSON keys are those of the string map older versions wrote
// ("facts" in state.json and history.jsonl), and the times are RFC 3339 as
// they were, so a journal or history written before reads the same.
type Facts struct {
	OldTag        string `json:"old_tag,omitempty"`         // TAG in .env before the switch
	ServerImage   string `json:"server_image,omitempty"`    // image reference of the server container (repo:tag)
	ServerImageID string `json:"server_image_id,omitempty"` // image ID the server ran before
	WorkerImage   string `json:"worker_image,omitempty"`
	WorkerImageID string `json:"worker_image_id,omitempty"`
	BackupID      string `json:"backup_id,omitempty"`
	BackupDir     string `json:"backup_dir,omitempty"`
	OldCommit     string `json:"old_commit,omitempty"` // source mode: HEAD before the checkout
	NewRef        string `json:"new_ref,omitempty"`    // source mode: the tag checked out
	Manual        string `json:"manual,omitempty"`     // a rollback by hand: the ID of the transaction it undoes or closes
	Trigger       string `json:"trigger,omitempty"`    // daemon or cli
	Forced        string `json:"forced,omitempty"`     // upgrade --to … --force: the policy codes it overrode, comma-separated

	StoppedAt time.Time `json:"stopped_at,omitzero"` // downtime begins
	HealthyAt time.Time `json:"healthy_at,omitzero"` // downtime ends
	UpAt      time.Time `json:"started_at,omitzero"` // when the last up ran (the health gate reads logs from here)
}
