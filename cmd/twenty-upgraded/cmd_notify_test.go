package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotifyTest: notify --test sends one message to every URL through a
// real loopback receiver, prints one line per URL without the URL, and
// exits 1 when one failed.
func TestNotifyTest(t *testing.T) {
	got := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Path + " " + string(b)
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	urls := "# receiver\ngeneric+" + srv.URL + "/hook-s3cret\n"
	os.WriteFile(filepath.Join(dir, "notify-urls"), []byte(urls), 0o600)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte("[notify]\nurls_file = \"notify-urls\"\ntimeout = \"5s\"\n"), 0o600)

	out, errOut, code := runCLI(t, "--config", cfg, "notify", "--test")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, "notify-urls")+":2: generic+http: sent") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if msg := <-got; !strings.HasPrefix(msg, "/hook-s3cret This is a test message from twenty-upgraded") {
		t.Fatalf("receiver got %q", msg)
	}
	if strings.Contains(out, "s3cret") {
		t.Fatalf("output shows the URL: %s", out)
	}

	urls += "generic+http://127.0.0.1:1/closed-s3cret\n"
	os.WriteFile(filepath.Join(dir, "notify-urls"), []byte(urls), 0o600)
	out, errOut, code = runCLI(t, "--config", cfg, "notify", "--test")
	if code != exitFailed || !strings.Contains(out, ":3: generic+http: FAILED: ") || !strings.Contains(errOut, "1 of 2 notification URLs failed") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Fatalf("output shows a URL: %s %s", out, errOut)
	}
	<-got
}
