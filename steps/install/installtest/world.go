package installtest

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// World is a fake Twenty install for unit tests: which version runs, which
// version its data was migrated to, what is checked out and built (source
// mode). It is kept in a JSON file (LoadWorld, Save), so a fake tool run as
// its own process and the test that checks it afterwards see the same
// install. One model of docker, compose, git, yarn and npx, shared by the
// engine's tests (steps) and the CLI's (cmd), each adding only what it alone
// needs (failures to inject, hooks, backups).
type World struct {
	Running    string `json:"running"`               // "" = stopped
	AppVersion string `json:"app_version,omitempty"` // the server's APP_VERSION when not written like Running (e.g. no v)
	DB         string `json:"db"`                    // version the data was migrated to
	CheckedOut string `json:"checked_out"`           // source mode
	Built      string `json:"built"`                 // source mode: version of the build output
	Source     bool   `json:"source,omitempty"`      // source mode: up starts the build output, not TAG
}

// NewWorld is an install running from on its own data, checked out and
// built at from.
func NewWorld(from string, source bool) World {
	return World{Running: from, DB: from, CheckedOut: from, Built: from, Source: source}
}

// LoadWorld reads the world at path.
func LoadWorld(path string) (World, error) {
	var w World
	b, err := os.ReadFile(path)
	if err != nil {
		return w, err
	}
	return w, json.Unmarshal(b, &w)
}

// Save writes the world to path.
func (w World) Save(path string) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// ImageID is the image ID the fake docker reports for a version.
func ImageID(v string) string { return "sha256:img-" + v }

// Answer answers argv (the program and its arguments, as the engine runs
// them) the way docker, compose, git, yarn and npx would on this install,
// changing w as the real command would change the install. tag is the .env's
// TAG. ok is false for a command the world does not model; code is the exit
// status.
func (w *World) Answer(argv []string, tag string) (out string, code int, ok bool) {
	if len(argv) == 0 {
		return "", 0, false
	}
	name, s := argv[0], strings.Join(argv[1:], " ")
	switch {
	case name == "docker" && (strings.HasSuffix(s, " ps -q server") || strings.HasSuffix(s, " ps -q worker")):
		if w.Running != "" {
			out = "cid"
		}
	case name == "docker" && strings.HasSuffix(s, " ps -q db"):
		out = "db-cid"
	case name == "docker" && strings.HasPrefix(s, "inspect --format "):
		app := w.Running
		if w.AppVersion != "" {
			app = w.AppVersion
		}
		out = ImageID(w.Running) + " twentycrm/twenty:" + w.Running + " running healthy\nAPP_VERSION=" + app
	case name == "docker" && strings.Contains(s, " up -d"):
		v := tag
		if w.Source || strings.Contains(s, "--build") {
			v = w.Built
		}
		w.Running, w.DB = v, maxV(w.DB, v)
	case name == "docker" && (strings.Contains(s, " stop server worker") || strings.HasSuffix(s, " down")):
		w.Running = ""
	case name == "git" && strings.Contains(s, " cat-file -e ") && strings.HasSuffix(s, "twenty-front/package.json"):
		return "fatal: path does not exist", 128, true
	case name == "git" && strings.Contains(s, " show ") && strings.HasSuffix(s, ":package.json"):
		out = `{"scripts":{"start":"npx nx start"}}`
	case name == "git" && strings.Contains(s, " show ") && strings.HasSuffix(s, "twenty-server/package.json"):
		out = `{"scripts":{"database:migrate:prod":"x","command:prod":"y","worker:prod":"z"}}`
	case name == "git" && strings.Contains(s, "tag --points-at HEAD"):
		out = w.CheckedOut
	case name == "git" && strings.Contains(s, "rev-parse HEAD"):
		out = "commit-" + w.CheckedOut
	case name == "git" && strings.Contains(s, "rev-parse --verify --quiet refs/tags/twenty/"):
		return "", 1, true
	case name == "git" && strings.Contains(s, " checkout "):
		ref := argv[len(argv)-1]
		w.CheckedOut = strings.TrimPrefix(strings.TrimPrefix(ref, "commit-"), "refs/tags/")
	case name == "npx" && s == "nx build twenty-server":
		w.Built = w.CheckedOut
	case name == "yarn" && s == "database:migrate:prod":
		w.DB = maxV(w.DB, w.CheckedOut)
	case strings.Contains(s, "postgres --version"):
		out = "postgres (PostgreSQL) 16.4"
	default:
		return "", 0, false
	}
	return out, 0, true
}

func maxV(a, b string) string {
	va, errA := version.Parse(a)
	vb, errB := version.Parse(b)
	switch {
	case errB != nil:
		return a
	case errA != nil:
		return b
	case va.Less(vb):
		return b
	}
	return a
}
