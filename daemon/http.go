package daemon

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// maxBody caps POST bodies (the approve body is a few bytes).
const maxBody = 4 << 10

// server builds the HTTP server with timeouts on every phase of a request.
func (d *Daemon) server() *http.Server {
	return &http.Server{
		Handler:           d.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// warnRemote logs, at start, that the listener is reachable from other
// machines when daemon.allow_remote let a non-loopback daemon.listen through
// (the config refuses it otherwise).
func (d *Daemon) warnRemote(ln net.Listener) {
	cfg, _ := d.config()
	if !cfg.Daemon.AllowRemote || config.Loopback(cfg.Daemon.Listen) {
		return
	}
	d.log.Warn("daemon.listen is reachable from other machines (daemon.allow_remote = true): /metrics, /-/healthy, /-/ready and GET /api/v1/* answer anyone without a token; firewall it or put a reverse proxy with TLS in front",
		"listen", cfg.Daemon.Listen, "addr", ln.Addr().String())
}

// Handler serves /metrics, the probes and /api/v1/*.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.gather, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{d}, MaxRequestsInFlight: 4, Timeout: 20 * time.Second,
	}))
	mux.HandleFunc("GET /-/healthy", d.healthy)
	mux.HandleFunc("GET /-/ready", d.ready)
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("GET /api/v1/history", d.history)
	mux.HandleFunc("POST /api/v1/check", d.auth(d.postCheck))
	mux.HandleFunc("POST /api/v1/approve", d.auth(d.postApprove))
	return mux
}

func (d *Daemon) healthy(w http.ResponseWriter, r *http.Request) {
	if !d.beat.alive() {
		http.Error(w, "main loop missed its heartbeat\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "OK\n")
}

func (d *Daemon) ready(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	started := d.st.started
	d.mu.Unlock()
	switch {
	case !started:
		http.Error(w, "starting\n", http.StatusServiceUnavailable)
	case !d.beat.alive():
		http.Error(w, "main loop missed its heartbeat\n", http.StatusServiceUnavailable)
	default:
		_, _ = io.WriteString(w, "OK\n")
	}
}

func (d *Daemon) history(w http.ResponseWriter, r *http.Request) {
	hist, err := d.deps.Store.History()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	if hist == nil {
		hist = []state.Entry{}
	}
	writeJSON(w, http.StatusOK, hist)
}

func (d *Daemon) postCheck(w http.ResponseWriter, r *http.Request) {
	d.CheckNow()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "check requested"})
}

// approveRequest is the optional body of POST /api/v1/approve.
type approveRequest struct {
	Version version.V `json:"version"`
}

func (d *Daemon) postApprove(w http.ResponseWriter, r *http.Request) {
	var req approveRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{"request body too large"})
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{`body must be {"version":"vX.Y.Z"} or empty: ` + err.Error()})
			return
		}
	}
	a, err := d.Approve(req.Version, "api")
	if errors.Is(err, ErrNothingToApprove) {
		writeJSON(w, http.StatusConflict, apiError{err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	d.CheckNow()
	writeJSON(w, http.StatusOK, a)
}

// auth requires "Authorization: Bearer <token>" (any case of "Bearer") matching daemon.api_token_file:
// 403 when no token is configured, 401 when it is missing or wrong.
func (d *Daemon) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		token := d.token
		d.mu.Unlock()
		if token == "" {
			writeJSON(w, http.StatusForbidden, apiError{"no API token configured: set daemon.api_token_file to enable POST endpoints"})
			return
		}
		got, ok := bearer(r.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="twenty-upgraded"`)
			writeJSON(w, http.StatusUnauthorized, apiError{"missing or wrong bearer token"})
			return
		}
		next(w, r)
	}
}

// bearer returns the credentials of an "Authorization: Bearer <token>"
// header. The scheme is matched case-insensitively (RFC 7235 §2.1: "bearer"
// and "BEARER" are the same scheme); the token is compared by the caller, in
// constant time.
func bearer(header string) (string, bool) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// slogPrinter adapts the logger for promhttp's error log.
type slogPrinter struct{ d *Daemon }

func (p slogPrinter) Println(v ...any) {
	p.d.log.Warn("metrics handler", "err", fmt.Sprint(v...))
}
