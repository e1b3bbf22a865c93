package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNotifyDefaults(t *testing.T) {
	c := Default()
	if c.Notify.Timeout.String() != "10s" || c.Notify.URLsFile != "" {
		t.Fatalf("notify defaults: %+v", c.Notify)
	}
	for _, e := range c.Notify.Events {
		if e == EventStarted {
			t.Fatal("started is on by default")
		}
	}
	if len(c.Notify.Events) != len(AllEvents())-1 {
		t.Fatalf("default events %v", c.Notify.Events)
	}
}

// TestNotifyURLs: comments and blank lines are skipped, line numbers kept,
// relative names are found in $CREDENTIALS_DIRECTORY.
func TestNotifyURLs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	p := filepath.Join(dir, "notify-urls")
	os.WriteFile(p, []byte("# phone\nntfy://ntfy.sh/twenty-abc\n\n  # mail\ngeneric+http://127.0.0.1:9/hook\n"), 0o600)
	c := Default()
	c.Notify.URLsFile = "notify-urls"
	got, err := c.NotifyURLs()
	if err != nil {
		t.Fatal(err)
	}
	want := []NotifyURL{{p, 2, "ntfy://ntfy.sh/twenty-abc"}, {p, 5, "generic+http://127.0.0.1:9/hook"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if err := c.CheckFiles(); err != nil && strings.Contains(err.Error(), "notify") {
		t.Fatalf("valid URLs refused: %v", err)
	}
}

func TestNotifyURLsRefusedWhenReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	p := filepath.Join(dir, "urls")
	os.WriteFile(p, []byte("ntfy://ntfy.sh/secret-topic\n"), 0o600)
	os.Chmod(p, 0o644)
	c := Default()
	c.Notify.URLsFile = p
	_, err := c.NotifyURLs()
	if err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "secret-topic") {
		t.Fatalf("world-readable URLs file: %v", err)
	}
}

// TestValidateNotifyURLLine: a URL shoutrrr does not understand is reported
// with its file and line, and without the URL (it may hold a token).
func TestValidateNotifyURLLine(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	os.WriteFile(filepath.Join(dir, "urls"), []byte("ntfy://ntfy.sh/ok\n# x\nnosuchservice://tok3n@host/x\n"), 0o600)
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte("[notify]\nurls_file = \"urls\"\n"), 0o600)
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckFiles()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	var line string
	for _, p := range ce.Problems {
		if strings.Contains(p, "notify.urls_file") {
			line = p
		}
	}
	want := cfgPath + ":2:1: notify.urls_file: " + filepath.Join(dir, "urls") + ":3: "
	if !strings.HasPrefix(line, want) || strings.Contains(line, "tok3n") || !strings.Contains(line, `"nosuchservice"`) {
		t.Fatalf("problem %q\nwant prefix %q, no token", line, want)
	}
}
