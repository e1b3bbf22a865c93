package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ReadSecret reads a token from name. An absolute name is a file path; a
// relative one is looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=),
// then beside the config file. The token is trimmed of surrounding space. The
// error names the file, never the content.
//
// A file outside $CREDENTIALS_DIRECTORY that group or others may read is
// refused: a token anyone on the machine can read is no secret. systemd's
// credentials folder is the service's own (mode 0500, not reachable by other
// users), so a credential's own mode does not matter.
func (c Config) ReadSecret(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	b, p, err := c.readSecretFile(name)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("secret file %s is empty", p)
	}
	if strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("secret file %s holds more than one line", p)
	}
	return tok, nil
}

// readSecretFile finds name as ReadSecret does and returns its content and
// the path it was read from, refusing a file others may read.
func (c Config) readSecretFile(name string) ([]byte, string, error) {
	creds := os.Getenv("CREDENTIALS_DIRECTORY")
	var candidates []string
	if filepath.IsAbs(name) {
		candidates = []string{name}
	} else {
		if creds != "" {
			candidates = append(candidates, filepath.Join(creds, name))
		}
		if c.Path != "" {
			candidates = append(candidates, filepath.Join(filepath.Dir(c.Path), name))
		}
	}
	var lastErr error
	for _, p := range candidates {
		b, err := readPrivate(p, creds)
		if err != nil {
			if os.IsNotExist(err) {
				lastErr = err
				continue
			}
			return nil, p, err
		}
		return b, p, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no $CREDENTIALS_DIRECTORY and no config path to resolve it against")
	}
	return nil, "", fmt.Errorf("read secret %q: %w", name, lastErr)
}

// NotifyURL is one line of notify.urls_file.
type NotifyURL struct {
	Path string // the file it was read from
	Line int    // 1-based line number in that file
	URL  string
}

// NotifyURLs reads notify.urls_file with the rules of ReadSecret: one URL per
// line, blank lines and lines starting with '#' ignored. No file configured
// is no URLs. The error names the file, never a URL (they hold tokens).
func (c Config) NotifyURLs() ([]NotifyURL, error) {
	if c.Notify.URLsFile == "" {
		return nil, nil
	}
	b, p, err := c.readSecretFile(c.Notify.URLsFile)
	if err != nil {
		return nil, err
	}
	var out []NotifyURL
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, NotifyURL{Path: p, Line: i + 1, URL: line})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("notify URLs file %s holds no URL (one shoutrrr URL a line)", p)
	}
	return out, nil
}

// readPrivate reads the secret file p, refusing it when its mode lets group
// or others read it and it is not inside the credentials folder creds. The
// mode is that of the opened file (fstat), so it cannot be swapped between
// the check and the read.
func readPrivate(p, creds string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && !within(creds, p) {
		return nil, fmt.Errorf("secret file %s has mode %04o: group or others can read it; run chmod 600 %s (or pass it as a systemd credential, LoadCredential=)", p, perm, p)
	}
	return io.ReadAll(f)
}

// within reports whether p lies inside the folder dir ("" is no folder).
func within(dir, p string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}
