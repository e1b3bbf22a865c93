package install

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

// Spec is what the compose file and the .env say about the install.
type Spec struct {
	From        string   // where it was read: "compose config" or ".env"
	Name        string   // the compose file's top-level name ("" when none)
	Services    []string // compose services
	Image       string   // the server's image as compose resolves it (repo:tag)
	Tag         string   // TAG in .env as written ("" when absent)
	HasTag      bool
	Database    Database
	Storage     string // STORAGE_TYPE: "local" (the default) or "s3"
	FilesVolume string // the docker volume of uploaded files ("" when none is mounted)
}

// Database is the PostgreSQL database Twenty uses.
type Database struct {
	Host, Port, User, Name string
	// External is true when Host is not the install's db service: dumping
	// that service would back up nothing that matters.
	External bool
	From     string // "PG_DATABASE_URL" or "PG_DATABASE_HOST"
}

// URL is the database as a postgres URL without a password.
func (d Database) URL() string {
	u := url.URL{Scheme: "postgres", User: url.User(d.User), Host: net.JoinHostPort(d.Host, d.Port), Path: "/" + d.Name}
	return u.String()
}

// S3 reports whether uploaded files live in S3 (not in any backup we take).
func (s Spec) S3() bool { return strings.EqualFold(s.Storage, "s3") }

// localStorage is where the server keeps uploaded files with STORAGE_TYPE=local.
const localStorage = "/app/packages/twenty-server/.local-storage"

// composeConfig is the part of `docker compose config --format json` we read.
type composeConfig struct {
	Name     string `json:"name"`
	Services map[string]struct {
		Image       string             `json:"image"`
		Environment map[string]*string `json:"environment"`
		Volumes     []struct {
			Type   string `json:"type"`
			Source string `json:"source"`
			Target string `json:"target"`
		} `json:"volumes"`
	} `json:"services"`
	Volumes map[string]struct {
		Name string `json:"name"`
	} `json:"volumes"`
}

// ReadSpec reads compose's resolved configuration (`config --format json`)
// and the .env values. The server service's environment is what Twenty
// really gets, so the database and storage are read there first.
func ReadSpec(configJSON []byte, env map[string]string, in config.Install) (Spec, error) {
	var cc composeConfig
	if err := json.Unmarshal(configJSON, &cc); err != nil {
		return Spec{}, fmt.Errorf("compose config: unreadable JSON: %v", err)
	}
	svc, ok := cc.Services[in.ServerService]
	if !ok {
		names := make([]string, 0, len(cc.Services))
		for n := range cc.Services {
			names = append(names, n)
		}
		sort.Strings(names)
		return Spec{}, fmt.Errorf("the compose file has no service %q (it has %s): set install.server_service", in.ServerService, strings.Join(names, ", "))
	}
	s := SpecFromEnv(env, in)
	s.From, s.Name, s.Image, s.Services = "compose config", cc.Name, svc.Image, nil
	for n := range cc.Services {
		s.Services = append(s.Services, n)
	}
	sort.Strings(s.Services)
	senv := map[string]string{}
	for k, v := range svc.Environment {
		if v != nil {
			senv[k] = *v
		}
	}
	if raw := senv["PG_DATABASE_URL"]; raw != "" {
		if db, err := parseDBURL(raw); err == nil {
			s.Database = db
		}
	}
	if st := senv["STORAGE_TYPE"]; st != "" {
		s.Storage = st
	}
	s.FilesVolume = ""
	for _, v := range svc.Volumes {
		if v.Target == localStorage && v.Type == "volume" {
			s.FilesVolume = v.Source
			if tv, ok := cc.Volumes[v.Source]; ok && tv.Name != "" {
				s.FilesVolume = tv.Name
			}
		}
	}
	s.Database.External = s.Database.Host != in.DBService || !contains(s.Services, in.DBService)
	return s, nil
}

// SpecFromEnv is what the .env alone says, with the defaults of Twenty's
// compose file (PG_DATABASE_HOST db, user postgres, port 5432, database
// default, STORAGE_TYPE local, volume <project>_server-local-data).
func SpecFromEnv(env map[string]string, in config.Install) Spec {
	s := Spec{From: ".env", Storage: "local", FilesVolume: in.Project + "_server-local-data"}
	s.Tag, s.HasTag = env["TAG"]
	if st := env["STORAGE_TYPE"]; st != "" {
		s.Storage = st
	}
	if raw := env["PG_DATABASE_URL"]; raw != "" {
		if db, err := parseDBURL(raw); err == nil {
			s.Database = db
		}
	}
	if s.Database.Host == "" {
		s.Database = Database{Host: or(env["PG_DATABASE_HOST"], "db"), Port: or(env["PG_DATABASE_PORT"], "5432"),
			User: or(env["PG_DATABASE_USER"], "postgres"), Name: "default", From: "PG_DATABASE_HOST"}
	}
	s.Database.External = s.Database.Host != in.DBService
	return s
}

func parseDBURL(raw string) (Database, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return Database{}, fmt.Errorf("not a postgres URL")
	}
	return Database{Host: u.Hostname(), Port: or(u.Port(), "5432"), User: or(u.User.Username(), "postgres"),
		Name: or(strings.TrimPrefix(u.Path, "/"), "default"), From: "PG_DATABASE_URL"}, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
