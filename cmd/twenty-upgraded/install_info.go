package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/twenty"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/health"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// installInfo is what status and validate show of the install as the
// install model read it (the "install" key of status --json). Secrets are
// named, never their values.
type installInfo struct {
	Mode       string       `json:"mode"`
	Dir        string       `json:"dir"`
	Compose    string       `json:"compose"` // program and version
	ReadFrom   string       `json:"read_from"`
	Services   []string     `json:"services"`
	DBService  string       `json:"db_service"`
	Tag        string       `json:"tag"`
	TagAlias   bool         `json:"tag_alias"`
	AppVersion string       `json:"app_version"` // of the running server, as written
	Database   databaseInfo `json:"database"`
	Storage    string       `json:"storage"`
	S3         bool         `json:"s3"`
	Files      string       `json:"files_volume"`
	Secrets    []string     `json:"secrets"`
}

type databaseInfo struct {
	Host     string `json:"host"`
	Port     string `json:"port"`
	User     string `json:"user"`
	Name     string `json:"name"`
	External bool   `json:"external"`
	From     string `json:"from"`
}

func newInstallInfo(in *install.Install, cur install.Installed) *installInfo {
	sp, db := in.Spec, in.Spec.Database
	info := &installInfo{Mode: string(in.Mode), Dir: in.Dir, ReadFrom: sp.From, Services: sp.Services, DBService: in.DBSvc,
		Tag: cur.Tag, TagAlias: cur.Alias, AppVersion: cur.AppVersion, Storage: sp.Storage, S3: sp.S3(),
		Database: databaseInfo{db.Host, db.Port, db.User, db.Name, db.External, db.From}, Secrets: in.Secrets}
	if len(in.Program) > 0 {
		info.Compose = strings.TrimSpace(strings.Join(in.Program, " ") + " " + in.ComposeVersion)
	}
	if !info.S3 {
		info.Files = sp.FilesVolume
	}
	if info.Services == nil {
		info.Services = []string{}
	}
	if info.Secrets == nil {
		info.Secrets = []string{}
	}
	return info
}

// installedLine is the "installed:" value: the version, the TAG as
// written, and the running APP_VERSION where it says more than the TAG
// (an alias, a missing v, or a disagreement).
func installedLine(v version.V, tag string, alias bool, appVersion string) string {
	s := dashIfEmpty(v.String())
	var parts []string
	switch {
	case tag == "":
	case alias:
		parts = append(parts, "TAG="+tag+", an alias")
	default:
		parts = append(parts, "TAG="+tag)
	}
	if appVersion != "" && (alias || appVersion != tag) {
		parts = append(parts, "the server runs APP_VERSION="+appVersion)
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// printInstall prints the install in a few lines, labels padded to pad.
func printInstall(w io.Writer, info *installInfo, pad int) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-*s %s\n", pad, label+":", fmt.Sprintf(format, args...))
	}
	where := info.Mode + " in " + info.Dir
	if info.Compose != "" {
		where += " (" + info.Compose + ")"
	}
	if len(info.Services) > 0 {
		where += ": " + strings.Join(info.Services, ", ")
	}
	line("install", "%s", where)
	db := info.Database
	at := "the " + info.DBService + " service"
	if db.External {
		at = "external: not the " + info.DBService + " service"
	}
	url := install.Database{Host: db.Host, Port: db.Port, User: db.User, Name: db.Name}.URL()
	line("database", "host %s (%s), %s", db.Host, at, url)
	if info.S3 {
		line("files", "STORAGE_TYPE=s3: uploaded files are in S3: not in this backup")
	} else {
		line("files", "STORAGE_TYPE=%s, volume %s", dashIfEmpty(info.Storage), dashIfEmpty(info.Files))
	}
	line("secrets", "%s (in .env; names only)", strings.Join(info.Secrets, ", "))
}

// gateLines says which health checks the gate runs on v and which it
// leaves out because v does not have them (the capability table).
func gateLines(cfg config.Config, v version.V) (run, left []string) {
	checks, out := health.Applicable(v, cfg.Health.Checks)
	names := make([]string, 0, len(checks))
	for _, c := range checks {
		switch c {
		case config.CheckGraphQL:
			if cfg.Health.APIKeyFile == "" {
				c += " (anonymous)"
			} else {
				c += " (API key)"
			}
		case config.CheckVersion:
			if !v.IsZero() && !twenty.Has(v, twenty.RESTClientConfig) {
				c += " (APP_VERSION)"
			}
		}
		names = append(names, c)
	}
	lefts := make([]string, 0, len(out))
	for _, l := range out {
		lefts = append(lefts, fmt.Sprintf("%s (from %s)", l.Check, l.Since))
	}
	return names, lefts
}
