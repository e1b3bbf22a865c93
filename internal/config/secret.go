package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadSecret reads a token from name. An absolute name is a file path; a
// relative one is looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=),
// then beside the config file. The token is trimmed of surrounding space. The
// error names the file, never the content.
func (c Config) ReadSecret(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	var candidates []string
	if filepath.IsAbs(name) {
		candidates = []string{name}
	} else {
		if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
			candidates = append(candidates, filepath.Join(dir, name))
		}
		if c.Path != "" {
			candidates = append(candidates, filepath.Join(filepath.Dir(c.Path), name))
		}
	}
	var lastErr error
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if err != nil {
			lastErr = err
			continue
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
	if lastErr == nil {
		lastErr = fmt.Errorf("no $CREDENTIALS_DIRECTORY and no config path to resolve it against")
	}
	return "", fmt.Errorf("read secret %q: %w", name, lastErr)
}
