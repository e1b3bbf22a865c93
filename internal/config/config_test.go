package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.err from the current messages")

func TestExampleParsesToDefaults(t *testing.T) {
	cfg, err := Load("../../twenty-upgraded.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Path = cfg.Path
	want.resolvePaths()
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("example differs from defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

// TestExampleDocumentsEveryKey: every key the decoder knows appears in the example.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../twenty-upgraded.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	pos := keyPositions(data)
	for _, key := range allKeys() {
		if _, ok := pos[key]; !ok {
			t.Errorf("key %s is not in twenty-upgraded.toml.example", key)
		}
	}
}

func allKeys() []string {
	var keys []string
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		sec := ct.Field(i)
		name := sec.Tag.Get("toml")
		if name == "-" {
			continue
		}
		for j := 0; j < sec.Type.NumField(); j++ {
			if k := sec.Type.Field(j).Tag.Get("toml"); k != "-" {
				keys = append(keys, name+"."+k)
			}
		}
	}
	return keys
}

func TestMinimalFile(t *testing.T) {
	cfg, err := Parse("min.toml", []byte("[install]\ndir = \"/srv/twenty\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Install.EnvFile != "/srv/twenty/.env" || cfg.Release.Track != "minor" {
		t.Fatalf("defaults not applied: %+v", cfg.Install)
	}
}

// TestInvalid: each testdata/invalid-*.toml has a matching .err file with the exact message.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid-*.toml")
	if len(files) == 0 {
		t.Fatal("no invalid configs in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *config.Error, got %v", err)
			}
			errFile := strings.TrimSuffix(f, ".toml") + ".err"
			if *update {
				os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644)
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatalf("missing .err file: %v\ngot: %s", rerr, err)
			}
			if got := err.Error(); got != strings.TrimRight(string(want), "\n") {
				t.Fatalf("message:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gh"), []byte("ghp_secret\n"), 0o600)
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	c := Default()
	tok, err := c.ReadSecret("gh")
	if err != nil || tok != "ghp_secret" {
		t.Fatalf("ReadSecret = %q, %v", tok, err)
	}
	os.WriteFile(filepath.Join(dir, "two"), []byte("a\nb\n"), 0o600)
	if _, err := c.ReadSecret("two"); err == nil || strings.Contains(err.Error(), "a\nb") {
		t.Fatalf("multi-line secret: %v", err)
	}
	if _, err := c.ReadSecret("missing"); err == nil {
		t.Fatal("missing secret accepted")
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("../../twenty-upgraded.toml.example")
	f.Add(seed)
	f.Add([]byte("[install]\nmode = \"source\"\n"))
	f.Add([]byte("[release]\ntrack = 3\n"))
	f.Add([]byte("[window]\nschedule = \"CRON_TZ=Europe/Paris 0 3 * * 0\"\nduration = \"1h\"\n"))
	files, _ := filepath.Glob("testdata/*.toml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error is not a *config.Error with problems: %v", err)
			}
			return
		}
		// An accepted config must validate again unchanged.
		if ps := cfg.validate(); len(ps) != 0 {
			t.Fatalf("accepted config fails validation: %v", ps)
		}
	})
}

// TestReadSecretRefusesReadableByOthers: a token file group or others can
// read is refused with its name, its mode and the chmod that fixes it, unless
// it is one of systemd's credentials ($CREDENTIALS_DIRECTORY).
func TestReadSecretRefusesReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	c := Default()
	c.Path = filepath.Join(dir, "config.toml")
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		p := filepath.Join(dir, "token-"+mode.String())
		if err := os.WriteFile(p, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{p, filepath.Base(p)} { // by path and beside the config
			tok, err := c.ReadSecret(name)
			if err == nil {
				t.Fatalf("mode %04o accepted (token %q)", mode, tok)
			}
			msg := err.Error()
			for _, want := range []string{p, fmt.Sprintf("%04o", mode.Perm()), "chmod 600 " + p} {
				if !strings.Contains(msg, want) {
					t.Errorf("mode %04o: error %q does not name %q", mode, msg, want)
				}
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("error shows the token: %q", msg)
			}
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		p := filepath.Join(dir, "ok-"+mode.String())
		os.WriteFile(p, []byte("s3cret\n"), 0o600)
		os.Chmod(p, mode)
		if tok, err := c.ReadSecret(p); err != nil || tok != "s3cret" {
			t.Errorf("mode %04o: ReadSecret = %q, %v", mode, tok, err)
		}
	}

	// systemd's credentials: the folder is the service's own, whatever the
	// file's mode; by name or by a path into it.
	creds := filepath.Join(dir, "credentials")
	os.Mkdir(creds, 0o700)
	cp := filepath.Join(creds, "api-token")
	os.WriteFile(cp, []byte("s3cret\n"), 0o644)
	os.Chmod(cp, 0o644)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	for _, name := range []string{"api-token", cp} {
		if tok, err := c.ReadSecret(name); err != nil || tok != "s3cret" {
			t.Errorf("credential %s: ReadSecret = %q, %v", name, tok, err)
		}
	}
	// A sibling whose name starts like the folder is not inside it.
	sib := creds + "-other"
	os.Mkdir(sib, 0o700)
	sp := filepath.Join(sib, "api-token")
	os.WriteFile(sp, []byte("s3cret\n"), 0o644)
	os.Chmod(sp, 0o644)
	if _, err := c.ReadSecret(sp); err == nil {
		t.Errorf("%s (beside $CREDENTIALS_DIRECTORY, mode 0644) accepted", sp)
	}
}

// TestListenLoopbackOnly: daemon.listen must be a loopback address unless
// daemon.allow_remote = true says otherwise; ":port" and 0.0.0.0 are every
// interface, not loopback.
func TestListenLoopbackOnly(t *testing.T) {
	tests := []struct {
		listen string
		local  bool
	}{
		{"127.0.0.1:9787", true},
		{"127.3.2.1:80", true},
		{"[::1]:9787", true},
		{"localhost:9787", true},
		{"LocalHost:9787", true},
		{"", true}, // no listener at all
		{":8080", false},
		{"0.0.0.0:9787", false},
		{"[::]:9787", false},
		{"192.168.1.5:9787", false},
		{"[fe80::1%eth0]:9787", false},
		{"twenty.example.com:9787", false},
		{"localhost.example.com:9787", false},
	}
	for _, tt := range tests {
		if got := Loopback(tt.listen); got != tt.local {
			t.Errorf("Loopback(%q) = %v, want %v", tt.listen, got, tt.local)
		}
		file := fmt.Sprintf("[install]\ndir = \"/srv/twenty\"\n\n[daemon]\nlisten = %q\n", tt.listen)
		_, err := Parse("c.toml", []byte(file))
		if tt.local && err != nil {
			t.Errorf("listen %q: %v", tt.listen, err)
		}
		if !tt.local {
			want := fmt.Sprintf("config: c.toml:5:1: daemon.listen: %q is reachable from other machines", tt.listen)
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "allow_remote = true") {
				t.Errorf("listen %q: error %v, want it to start with %q and name allow_remote = true", tt.listen, err, want)
			}
			if _, err := Parse("c.toml", []byte(file+"allow_remote = true\n")); err != nil {
				t.Errorf("listen %q with allow_remote = true: %v", tt.listen, err)
			}
		}
	}
}
