// Package installtest answers, for unit tests, the commands the install
// model runs to read an install (compose version, compose config), shaped
// like Twenty's own compose file: one fake of those reads, shared by every
// package's tests.
package installtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// ComposeVersion is what the fake compose says it is.
const ComposeVersion = "2.40.3"

// Answer answers c when it is one of the install model's reads: `<compose>
// version --short` and `<compose> config --format json` (resolved from the
// .env the argv names, as Twenty's compose file would resolve it). ok is
// false for every other command.
func Answer(c proc.Cmd) (res proc.Result, ok bool, err error) {
	s := strings.Join(c.Argv, " ")
	switch {
	case strings.HasSuffix(s, " version --short"):
		return proc.Result{Stdout: []byte(ComposeVersion + "\n")}, true, nil
	case strings.HasSuffix(s, " config --format json"):
		env, err := readEnv(c.Argv)
		if err != nil {
			r, err := proc.Fail(c, 1, err.Error())
			return r, true, err
		}
		return proc.Result{Stdout: ComposeJSON(flag(c.Argv, "--project-name"), env)}, true, nil
	}
	return proc.Result{}, false, nil
}

func flag(argv []string, name string) string {
	for i, a := range argv {
		if a == name && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

func readEnv(argv []string) (map[string]string, error) {
	path := flag(argv, "--env-file")
	if path == "" {
		path = filepath.Join(flag(argv, "--project-directory"), ".env")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return envfile.All(b), nil
}

// ComposeJSON is `docker compose config --format json` of an install shaped
// like Twenty's docker-compose.yml with the given .env values.
func ComposeJSON(project string, env map[string]string) []byte {
	get := func(k, def string) string {
		if v, ok := env[k]; ok && v != "" {
			return v
		}
		return def
	}
	if project == "" {
		project = "twenty"
	}
	url := "postgres://" + get("PG_DATABASE_USER", "postgres") + ":" + get("PG_DATABASE_PASSWORD", "postgres") + "@" +
		get("PG_DATABASE_HOST", "db") + ":" + get("PG_DATABASE_PORT", "5432") + "/default"
	appEnv := map[string]string{"NODE_PORT": "3000", "PG_DATABASE_URL": url, "SERVER_URL": get("SERVER_URL", ""),
		"REDIS_URL": get("REDIS_URL", "redis://redis:6379"), "STORAGE_TYPE": get("STORAGE_TYPE", "local"), "APP_SECRET": get("APP_SECRET", "replace_me_with_a_random_string")}
	image := "twentycrm/twenty:" + get("TAG", "latest")
	vol := []map[string]string{{"type": "volume", "source": "server-local-data", "target": "/app/packages/twenty-server/.local-storage"}}
	doc := map[string]any{
		"name": project,
		"services": map[string]any{
			"server": map[string]any{"image": image, "environment": appEnv, "volumes": vol},
			"worker": map[string]any{"image": image, "environment": appEnv, "volumes": vol, "command": []string{"yarn", "worker:prod"}},
			"db":     map[string]any{"image": "postgres:16", "volumes": []map[string]string{{"type": "volume", "source": "db-data", "target": "/var/lib/postgresql/data"}}},
			"redis":  map[string]any{"image": "redis"},
		},
		"volumes": map[string]any{
			"db-data":           map[string]string{"name": project + "_db-data"},
			"server-local-data": map[string]string{"name": project + "_server-local-data"},
		},
	}
	b, _ := json.Marshal(doc)
	return b
}

// EnvValue is key's value in the .env at path ("" when absent or unreadable).
func EnvValue(path, key string) string {
	b, _ := os.ReadFile(path)
	v, _ := envfile.Get(b, key)
	return v
}
