// Package sandbox runs a Twenty look-alike stack on this machine's real
// Docker engine, for the end-to-end tests and the demo: a PostgreSQL 15 image
// assembled from the host's files, a Redis image likewise, the twenty-sim
// server/worker image built once per release tag (some deliberately broken),
// and a distribution registry on loopback that serves those tags under
// twentycrm/twenty. Nothing is pulled from outside.
//
// A test calls Start, which skips the test with the reason when Docker is not
// usable, builds what is missing (cached by content hash), starts a
// registry, writes an install folder (docker-compose.yml + .env) with a unique
// compose project and port, brings it up on a tag and waits until Twenty is
// healthy. Cleanup tears everything down.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"fmt"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

//go:embed docker-compose.yml
var composeFile []byte

//go:embed env.template
var envTemplate string

// Options choose how a stack starts.
type Options struct {
	Compose string        // ComposeV1 or ComposeV2; "" means v2
	Tag     string        // release to start on; "" means DefaultTag
	Publish []string      // tags pushed to the registry at start; nil means just Tag
	NoUp    bool          // write the install folder and start the registry, but do not `up`
	Dir     string        // parent of the install folder; "" means a new temp folder
	Timeout time.Duration // for up and the health wait; 0 means 3 minutes × testreq.Scale()

	// Variants of the install (docs/sandbox.md):
	NoEncryptionKey bool // .env as install.sh writes it: APP_SECRET, no ENCRYPTION_KEY
	ExternalDB      bool // Twenty's database on another PostgreSQL (service extdb, PG_DATABASE_HOST=extdb)
	S3              bool // STORAGE_TYPE=s3: uploaded files are not in the volume
}

// DefaultTag is the release a stack starts on unless told otherwise.
const DefaultTag = "v1.22.0"

// Stack is one running sandbox install.
type Stack struct {
	Dir        string   // install folder: docker-compose.yml and .env
	EnvFile    string   // Dir/.env
	Project    string   // compose project name (unique per stack)
	ComposeCmd []string // compose argv prefix: ["docker","compose"] or ["docker-compose"]
	Flavour    string   // ComposeV1 or ComposeV2
	Port       int      // server port on 127.0.0.1
	BaseURL    string   // http://127.0.0.1:Port
	Registry   *Registry
	Images     *Images
	Opts       Options
	// APIKeyFile holds a workspace API key once SeedSentinels signed up a
	// workspace ("" before): what health.api_key_file names.
	APIKeyFile string
	timeout    time.Duration
	sentinels  map[string]string // uploaded file name → sha256
}

// Start brings a stack up for a test and tears it down at cleanup; it skips
// the test when the sandbox cannot run here.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	if reason := Available(); reason != "" {
		testreq.Missing(t, "sandbox unavailable: "+reason)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	ctx := context.Background()
	s, err := New(ctx, opts)
	if s != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("sandbox logs:\n%s", s.Logs(context.Background(), 40))
			}
			s.Down()
		})
	}
	if err != nil {
		t.Fatalf("sandbox start: %v", err)
	}
	return s
}

// New builds what is missing, starts a registry, writes the install folder
// and (unless NoUp) brings the stack up healthy. On error the returned stack,
// when not nil, still needs Down.
func New(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Tag == "" {
		opts.Tag = DefaultTag
	}
	if opts.Publish == nil {
		opts.Publish = []string{ReleaseOf(opts.Tag)}
	}
	if opts.Timeout == 0 {
		opts.Timeout = testreq.Timeout(3 * time.Minute)
	}
	if err := ensureTools(ctx); err != nil {
		return nil, err
	}
	imgs, err := EnsureImages(ctx)
	if err != nil {
		return nil, err
	}
	s := &Stack{Images: imgs, timeout: opts.Timeout, Flavour: opts.Compose, Opts: opts, sentinels: map[string]string{}}
	if s.Flavour == "" {
		s.Flavour = ComposeV2
	}
	if s.ComposeCmd, err = ComposeCommand(ctx, s.Flavour); err != nil {
		return nil, err
	}
	if s.Port, err = FreePort(); err != nil {
		return nil, err
	}
	s.BaseURL = "http://127.0.0.1:" + strconv.Itoa(s.Port)
	s.Project = "twenty" + randomHex(4)
	s.Dir = filepath.Join(opts.Dir, "twenty")
	s.EnvFile = filepath.Join(s.Dir, ".env")
	regDir := filepath.Join(opts.Dir, "registry")
	for _, d := range []string{s.Dir, regDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if s.Registry, err = StartRegistry(ctx, regDir, imgs); err != nil {
		return nil, err
	}
	if err := s.Registry.Publish(ctx, opts.Publish...); err != nil {
		return s, err
	}
	for alias, tag := range Aliases {
		if slices.Contains(opts.Publish, tag) || alias == opts.Tag {
			if err := s.Registry.PublishAlias(ctx, alias, tag); err != nil {
				return s, err
			}
		}
	}
	if err := s.writeInstall(opts.Tag); err != nil {
		return s, err
	}
	if opts.NoUp {
		return s, nil
	}
	return s, s.Up(ctx, opts.Tag)
}

func (s *Stack) writeInstall(tag string) error {
	if err := os.WriteFile(filepath.Join(s.Dir, "docker-compose.yml"), composeFile, 0o644); err != nil {
		return err
	}
	vars := map[string]any{
		"Tag": tag, "Port": s.Port, "Owner": os.Getpid(), "Registry": s.Registry.Addr, "Project": s.Project,
		"DBPassword": randomHex(12), "AppSecret": randomB64(32), "EncryptionKey": randomB64(32),
		"DBHost": "db", "Storage": "local", "Profiles": "",
	}
	if s.Opts.NoEncryptionKey {
		vars["EncryptionKey"] = ""
	}
	if s.Opts.ExternalDB {
		vars["DBHost"], vars["Profiles"] = "extdb", "external"
	}
	if s.Opts.S3 {
		vars["Storage"] = "s3"
	}
	var b bytes.Buffer
	err := template.Must(template.New("env").Parse(envTemplate)).Execute(&b, vars)
	if err != nil {
		return err
	}
	return os.WriteFile(s.EnvFile, b.Bytes(), 0o600)
}

// Compose runs `<compose> -p PROJECT args...` in the install folder and
// returns stdout.
func (s *Stack) Compose(ctx context.Context, args ...string) ([]byte, error) {
	return s.ComposeIn(ctx, nil, args...)
}

// ComposeIn is Compose with stdin.
func (s *Stack) ComposeIn(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	c := s.composeCmd(args...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	return run(ctx, c)
}

func (s *Stack) composeCmd(args ...string) proc.Cmd {
	argv := append(append(append([]string{}, s.ComposeCmd...), "-p", s.Project), args...)
	return proc.Cmd{Argv: argv, Dir: s.Dir, Timeout: s.timeout}
}

// SetTag rewrites the TAG= line of .env, keeping every other line.
func (s *Stack) SetTag(tag string) error {
	b, err := os.ReadFile(s.EnvFile)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "TAG=") {
			lines[i] = "TAG=" + tag + "\n"
		}
	}
	return atomicfile.WriteFile(s.EnvFile, []byte(strings.Join(lines, "")), 0o600)
}

// Tag returns the TAG= value of .env.
func (s *Stack) Tag() (string, error) {
	b, err := os.ReadFile(s.EnvFile)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "TAG="); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no TAG= line in %s", s.EnvFile)
}

// Up sets TAG, runs `up -d` and waits until Twenty is healthy on tag (an
// alias waits for the release it stands for).
func (s *Stack) Up(ctx context.Context, tag string) error {
	if err := s.SetTag(tag); err != nil {
		return err
	}
	if _, err := s.Compose(ctx, "up", "-d"); err != nil {
		return fmt.Errorf("compose up on %s: %w", tag, err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.WaitHealthy(wctx, ReleaseOf(tag))
}

// ReleaseOf is the full tag an alias stands for (tag itself otherwise).
func ReleaseOf(tag string) string {
	if full, ok := Aliases[tag]; ok {
		return full
	}
	return tag
}

// Logs returns the last n lines of every service's log.
func (s *Stack) Logs(ctx context.Context, n int) string {
	out, err := s.Compose(ctx, "logs", "--no-color", "--tail", strconv.Itoa(n))
	if err != nil {
		return fmt.Sprintf("(compose logs failed: %v)\n%s", err, out)
	}
	return string(out)
}

// ServiceLog returns a service's whole log.
func (s *Stack) ServiceLog(ctx context.Context, service string) (string, error) {
	out, err := s.Compose(ctx, "logs", "--no-color", service)
	return string(out), err
}

// Down removes the containers and volumes and stops the registry; safe to
// call twice.
func (s *Stack) Down() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.Dir != "" && fileExists(filepath.Join(s.Dir, "docker-compose.yml")) {
		_, _ = s.Compose(ctx, "down", "-v", "--remove-orphans", "-t", "2")
	}
	if s.Registry != nil {
		s.Registry.Stop()
		s.Registry = nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
