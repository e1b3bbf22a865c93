package sourcee2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fakeDocker is `docker compose <flags> stop|up|ps|logs|exec` and `docker
// inspect` for a project whose server is the fake server process.
func fakeDocker(args []string) int {
	record("docker", args)
	if len(args) > 0 && args[0] == "inspect" {
		if serverPID() == 0 {
			return fail("docker", fmt.Errorf("no such object: %s", args[len(args)-1]))
		}
		fmt.Println("sha256:0f7e twenty-server:local running none") // a source build sets no APP_VERSION
		return 0
	}
	if len(args) == 0 || args[0] != "compose" {
		return fail("docker", fmt.Errorf("unknown command %q", args))
	}
	args = args[1:]
	for len(args) > 1 && strings.HasPrefix(args[0], "--") && args[0] != "--build" {
		args = args[2:] // --project-name X, --project-directory X, --env-file X, --file X
	}
	if len(args) == 0 {
		return fail("docker compose", fmt.Errorf("no command"))
	}
	var err error
	switch args[0] {
	case "version":
		fmt.Println("Docker Compose version v2.99.0-fake")
	case "stop":
		err = stopServer()
	case "up":
		if err = stopServer(); err == nil { // --build recreates the container
			err = startServer()
		}
	case "ps":
		if pid := serverPID(); pid != 0 {
			fmt.Printf("fake-%d\n", pid)
		}
	case "logs":
		err = printLog(args)
	case "exec":
		err = execServer(args[1:])
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		return fail("docker compose", err)
	}
	return 0
}

// serverPID is the running server's pid, or 0.
func serverPID() int {
	b, err := os.ReadFile(world("server.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !alive(pid) {
		return 0
	}
	return pid
}

// alive: the process exists and is not a zombie (nobody may reap it here).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return false
}

func stopServer() error {
	pid := serverPID()
	if pid == 0 {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return os.Remove(world("server.pid"))
}

// startServer starts the server detached (its own session, output to
// server.log), as `up -d` returns while the container keeps running.
func startServer() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(world("server.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	p, err := os.StartProcess(self, []string{serverName}, &os.ProcAttr{Dir: os.Getenv(envDir), Env: os.Environ(),
		Files: []*os.File{devnull, logf, logf}, Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		return err
	}
	defer p.Release()
	return os.WriteFile(world("server.pid"), []byte(strconv.Itoa(p.Pid)), 0o644)
}

// printLog prints the server log lines written since --since.
func printLog(args []string) error {
	var since time.Time
	for i, a := range args {
		if a == "--since" && i+1 < len(args) {
			since, _ = time.Parse(time.RFC3339, args[i+1])
		}
	}
	b, err := os.ReadFile(world("server.log"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		ts, _, _ := strings.Cut(l, " ")
		if at, err := time.Parse(time.RFC3339Nano, ts); err == nil && !at.Before(since) {
			fmt.Println("server-1  | " + l)
		}
	}
	return nil
}

// execServer runs a command "in the server container": only while it runs.
func execServer(args []string) error {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] == "-e" {
			args = args[1:]
		}
		args = args[1:]
	}
	if len(args) < 2 || args[0] != "server" {
		return fmt.Errorf("exec: unsupported %q", args)
	}
	if serverPID() == 0 {
		return errNotRunning
	}
	if strings.Join(args[1:], " ") != "yarn command:prod upgrade:status" {
		return fmt.Errorf("exec: unsupported command %q", args[1:])
	}
	out, err := upgradeStatus(os.Getenv(envDir))
	fmt.Println(out)
	return err
}

// fakeServer is Twenty's server: it runs the build in dist (no build, no
// start), answers the health endpoints (the database one with a real query)
// and reports the built version as appVersion.
func fakeServer() int {
	logln := func(format string, a ...any) {
		fmt.Printf("%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, a...))
	}
	b, err := os.ReadFile(filepath.Join(os.Getenv(envDir), distMarker))
	if err != nil {
		logln("Error: cannot find the build output (%v): run yarn build", err)
		return 1
	}
	appVersion := strings.TrimPrefix(strings.TrimSpace(string(b)), "v")
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv(envPort))
	if err != nil {
		logln("Error: listen: %v", err)
		return 1
	}
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { ok(w, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /healthz/app", func(w http.ResponseWriter, _ *http.Request) { ok(w, map[string]string{"status": "up"}) })
	mux.HandleFunc("GET /healthz/worker", func(w http.ResponseWriter, _ *http.Request) { ok(w, map[string]string{"status": "up"}) })
	mux.HandleFunc("GET /healthz/database", func(w http.ResponseWriter, _ *http.Request) {
		if n, err := psql("SELECT count(*) FROM _migrations"); err != nil {
			http.Error(w, `{"status":"down"}`, http.StatusServiceUnavailable)
		} else {
			ok(w, map[string]string{"status": "up", "migrations": n})
		}
	})
	mux.HandleFunc("GET /client-config", func(w http.ResponseWriter, _ *http.Request) {
		ok(w, map[string]any{"appVersion": appVersion, "isMultiWorkspaceEnabled": false}) // REST client-config, v0.55+
	})
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, _ *http.Request) {
		ok(w, map[string]any{"data": map[string]string{"__typename": "Query"}})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; _ = srv.Close() }()
	logln("Nest application successfully started, version %s", appVersion)
	_ = srv.Serve(l)
	logln("server stopped")
	return 0
}
