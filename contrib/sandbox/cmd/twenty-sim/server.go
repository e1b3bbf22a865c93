package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/internal/pgwire"
	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/internal/simkey"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// appQuery is what the app reads on every request: the old release fails on a
// schema it does not know (after a half-applied migration).
const appQuery = `SELECT count(*) FROM core.workspace; SELECT id, name, email FROM ` + ws + `.person ORDER BY id LIMIT 1`

// serverMain migrates (unless disabled), then serves until SIGTERM.
func serverMain(ctx context.Context, cfg config) int {
	logf("Starting Twenty %s (sandbox simulator, mode %q)", cfg.version, cfg.mode)
	if !cfg.version.Less(encryptedFrom) && cfg.encryptionKey == "" {
		logf("Error: No encryption key configured: set ENCRYPTION_KEY (or APP_SECRET for legacy deployments).")
		return 1
	}
	if !cfg.noMigrations {
		if code := migrateOnStart(ctx, cfg); code != 0 {
			return code
		}
	}
	if _, err := redisDo(ctx, cfg.redisURL, "SET", cacheKey, cfg.version.String()); err != nil {
		logf("Warning: cache not reachable: %v", err)
	}
	srv := &http.Server{Addr: cfg.addr, Handler: routes(cfg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logf("Nest application successfully started on %s", cfg.addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logf("Error: %v", err)
		return 1
	}
	return 0
}

func migrateOnStart(ctx context.Context, cfg config) int {
	c, err := connectRetry(ctx, cfg.dbURL, 60*time.Second)
	if err != nil {
		logf("Upgrade failed: %v", err)
		return 1
	}
	defer c.Close()
	// The entrypoint flushes the cache before and after the upgrade
	// (packages/twenty-docker/twenty/entrypoint.sh, PR #17800).
	if cacheFlush(ctx, cfg, "entrypoint") != 0 {
		logf("Warning: Failed to flush cache before upgrade, but continuing startup...")
	}
	logf("Running upgrade to %s", cfg.version)
	err = upgrade(ctx, cfg, c)
	if err == nil && cacheFlush(ctx, cfg, "entrypoint") != 0 {
		logf("Warning: Failed to flush cache after upgrade, but continuing startup...")
	}
	switch {
	case err != nil:
		logf("Upgrade failed: %v", err)
		return 1
	case cfg.mode == modeGraphQLBroken:
		logf("Upgrade completed with errors: 1 workspace failure(s)")
		logf("Upgrade completed with 1 workspace failure(s)")
	default:
		logf("Successfully migrated DB!")
	}
	return 0
}

func routes(cfg config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { healthy(w, cfg, nil) })
	mux.HandleFunc("GET /healthz/database", func(w http.ResponseWriter, r *http.Request) {
		healthy(w, cfg, withDB(r.Context(), cfg, func(c *pgwire.Conn) error {
			if _, err := c.Query(r.Context(), appQuery); err != nil {
				return err
			}
			return secretsReadable(r.Context(), c, cfg.encryptionKey)
		}))
	})
	mux.HandleFunc("GET /healthz/app", func(w http.ResponseWriter, r *http.Request) {
		healthy(w, cfg, withDB(r.Context(), cfg, func(c *pgwire.Conn) error { return pendingWorkspaces(r.Context(), c, cfg.version) }))
	})
	mux.HandleFunc("GET /healthz/worker", func(w http.ResponseWriter, r *http.Request) {
		healthy(w, cfg, withDB(r.Context(), cfg, func(c *pgwire.Conn) error { return workerFresh(r.Context(), c, cfg.workerMaxAge) }))
	})
	mux.HandleFunc("GET /healthz/redis", func(w http.ResponseWriter, r *http.Request) { healthy(w, cfg, pingRedis(r.Context(), cfg.redisURL)) })
	mux.HandleFunc("GET /client-config", func(w http.ResponseWriter, r *http.Request) {
		v := cfg.appVersion
		if cfg.mode == modeWrongVersion {
			v = cfg.reported
		}
		writeJSON(w, http.StatusOK, map[string]any{"appVersion": v, "isMultiWorkspaceEnabled": false, "signInPrefilled": false})
	})
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) { graphql(w, r, cfg) })
	mux.HandleFunc("POST /files", func(w http.ResponseWriter, r *http.Request) { upload(w, r, cfg) })
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(cfg.storage, "workspace-sandbox", filepath.Base(r.PathValue("name"))))
	})
	return mux
}

func healthy(w http.ResponseWriter, cfg config, err error) {
	switch {
	case cfg.mode == modeUnhealthy:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "error": "service unavailable"})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error", "error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "info": map[string]any{}, "error": map[string]any{}})
	}
}

func withDB(ctx context.Context, cfg config, f func(*pgwire.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := pgwire.Connect(ctx, cfg.dbURL)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

func workerFresh(ctx context.Context, c *pgwire.Conn, maxAge time.Duration) error {
	age, err := c.Value(ctx, `SELECT coalesce(extract(epoch FROM now() - max("beatAt"))::int, -1) FROM core."workerHeartbeat"`)
	if err != nil {
		return err
	}
	var secs int
	if _, err := fmt.Sscan(age, &secs); err != nil || secs < 0 {
		return errors.New("no active worker")
	}
	if time.Duration(secs)*time.Second > maxAge {
		return fmt.Errorf("no active worker: last heartbeat %ds ago", secs)
	}
	return nil
}

// graphql answers like Twenty's /graphql (docs/twenty.md): without a token
// the request has no workspace and gets the empty schema, which has no
// query root; with a workspace API key it gets the workspace schema, whose
// build is what a broken release (#23012) fails.
func graphql(w http.ResponseWriter, r *http.Request, cfg config) {
	var req struct {
		Query string `json:"query"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, gqlError("invalid JSON body: "+err.Error()))
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeJSON(w, http.StatusOK, gqlError("Schema is not configured to execute query operation."))
		return
	}
	if err := withDB(r.Context(), cfg, func(c *pgwire.Conn) error { return checkAPIKey(r.Context(), c, cfg.appSecret, token) }); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{"message": "Unauthenticated", "extensions": map[string]any{"code": "UNAUTHENTICATED", "detail": err.Error()}}}})
		return
	}
	if cfg.mode == modeGraphQLBroken {
		writeJSON(w, http.StatusInternalServerError, gqlError("Internal server error"))
		return
	}
	if err := withDB(r.Context(), cfg, func(c *pgwire.Conn) error { _, err := c.Query(r.Context(), appQuery); return err }); err != nil {
		writeJSON(w, http.StatusInternalServerError, gqlError(err.Error()))
		return
	}
	if strings.Contains(req.Query, "__typename") {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"__typename": "Query"}})
		return
	}
	writeJSON(w, http.StatusBadRequest, gqlError("the sandbox answers only { __typename }"))
}

func gqlError(msg string) map[string]any {
	return map[string]any{"errors": []map[string]any{{"message": msg}}}
}

// upload stores the request body as a file of the local storage volume.
func upload(w http.ResponseWriter, r *http.Request, cfg config) {
	if cfg.storageType == "s3" {
		writeJSON(w, http.StatusServiceUnavailable, gqlError("STORAGE_TYPE=s3: the sandbox has no S3 to store files in"))
		return
	}
	name := filepath.Base(r.URL.Query().Get("name"))
	if name == "." || name == "/" || name == "" {
		writeJSON(w, http.StatusBadRequest, gqlError("missing ?name="))
		return
	}
	dir := filepath.Join(cfg.storage, "workspace-sandbox")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		writeJSON(w, http.StatusInternalServerError, gqlError(err.Error()))
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, gqlError(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": "workspace-sandbox/" + name, "size": len(b)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// pendingWorkspaces is /healthz/app: workspaces not on the server's version
// (app.health.ts: "Found N workspaces with pending migrations").
func pendingWorkspaces(ctx context.Context, c *pgwire.Conn, v version.V) error {
	_, behind, err := workspaceCounts(ctx, c, v)
	if err != nil {
		return err
	}
	if behind > 0 {
		//lint:ignore ST1005 Twenty's own message, which the daemon's checks match verbatim
		return fmt.Errorf("Found %d workspaces with pending migrations", behind)
	}
	return nil
}

// checkAPIKey accepts a token signed with this install's secret for a key
// row that exists.
func checkAPIKey(ctx context.Context, c *pgwire.Conn, secret, token string) error {
	id, ok := simkey.ID(secret, token)
	if !ok {
		return errors.New("invalid API key")
	}
	n, err := c.Value(ctx, fmt.Sprintf(`SELECT count(*) FROM core."apiKey" WHERE id = %d`, id))
	if err != nil {
		return err
	}
	if n != "1" {
		return errors.New("API key not found")
	}
	return nil
}
