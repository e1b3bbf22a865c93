package release

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// maxFileBytes bounds the release file: thousands of lines fit easily.
const maxFileBytes = 4 << 20

// fileSource reads the admin's release list (release.file), for air-gapped
// installs. It is read again on every call, so edits apply at the next check.
type fileSource struct {
	path string
}

func newFile(cfg config.Release, opts Options) (*fileSource, error) {
	if cfg.File == "" {
		return nil, errors.New("release.file must name the release list when source = \"file\"")
	}
	p := cfg.File
	if !filepath.IsAbs(p) && opts.ConfigDir != "" {
		p = filepath.Join(opts.ConfigDir, p)
	}
	return &fileSource{path: p}, nil
}

func (s *fileSource) Name() string { return "file" }

func (s *fileSource) Releases(ctx context.Context) ([]Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("file: release list: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("file: release list: %w", err)
	}
	if fi.Size() > maxFileBytes {
		return nil, fmt.Errorf("file: release list %s is larger than the %d-byte cap", s.path, maxFileBytes)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("file: release list %s: %w", s.path, err)
	}
	return ParseFile(s.path, buf.Bytes())
}

// ParseFile reads the release file format: one release per line,
//
//	v1.22.6 2025-07-30T12:00:00Z
//
// the version (vX.Y.Z, or twenty/vX.Y.Z) and optionally its release time in
// RFC 3339. Blank lines and lines starting with # are ignored. Any other line
// that is not exactly that, and a version listed twice, is an error naming
// name:line, since the admin wrote it.
func ParseFile(name string, data []byte) ([]Release, error) {
	var (
		rels  []Release
		errs  []error
		where = map[version.V]int{}
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxFileBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseFileLine(line)
		if err == nil {
			if first, dup := where[r.Version]; dup {
				err = fmt.Errorf("%s is already listed on line %d", r.Version, first)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n, err))
			if len(errs) >= 20 {
				break
			}
			continue
		}
		where[r.Version] = n
		rels = append(rels, r)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if rels == nil {
		return []Release{}, nil
	}
	return normalize(rels), nil
}

func parseFileLine(line string) (Release, error) {
	fields := strings.Fields(line)
	if len(fields) > 2 {
		return Release{}, fmt.Errorf("%q: want \"vX.Y.Z\" optionally followed by an RFC 3339 time, found %d fields", text.Clip(line, 80), len(fields))
	}
	v, err := version.ParseTag(fields[0])
	if err != nil {
		return Release{}, fmt.Errorf("%q is not a release version (want vX.Y.Z, no aliases such as latest or v1.7)", text.Clip(fields[0], 80))
	}
	r := Release{Version: v, Tag: fields[0]}
	if len(fields) == 2 {
		t, err := time.Parse(time.RFC3339, fields[1])
		if err != nil {
			return Release{}, fmt.Errorf("%q is not an RFC 3339 time such as 2025-07-30T12:00:00Z", text.Clip(fields[1], 80))
		}
		r.Published = t.UTC()
	}
	return r, nil
}
