package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
)

// Manifest media types a registry may answer with for a tag.
const (
	mtOCIIndex      = "application/vnd.oci.image.index.v1+json"
	mtOCIManifest   = "application/vnd.oci.image.manifest.v1+json"
	mtDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtDockerV2      = "application/vnd.docker.distribution.manifest.v2+json"
	manifestAccepts = mtOCIIndex + ", " + mtOCIManifest + ", " + mtDockerList + ", " + mtDockerV2
)

// digestRE is the OCI digest grammar; a digest goes into a URL path only
// after it matches.
var digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)

// manifest holds what we read of an index or an image manifest.
type manifest struct {
	MediaType string `json:"mediaType"`
	Manifests []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Platform  *struct {
			Architecture string `json:"architecture"`
			OS           string `json:"os"`
		} `json:"platform"`
	} `json:"manifests"`
	Config *struct {
		Digest string `json:"digest"`
	} `json:"config"`
}

// decodeManifest parses a manifest; the media type comes from the body or,
// failing that, from the Content-Type header.
func decodeManifest(body []byte, contentType string) (manifest, error) {
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return manifest{}, fmt.Errorf("not an image manifest: %w", err)
	}
	if m.MediaType == "" {
		m.MediaType, _, _ = strings.Cut(contentType, ";")
		m.MediaType = strings.TrimSpace(m.MediaType)
	}
	return m, nil
}

func (m manifest) isIndex() bool {
	return m.MediaType == mtOCIIndex || m.MediaType == mtDockerList || (m.Config == nil && len(m.Manifests) > 0)
}

// platformDigest picks linux/amd64 from an index (the platform Twenty's
// compose install runs), else the first image entry.
func (m manifest) platformDigest() (string, error) {
	first := ""
	for _, e := range m.Manifests {
		if e.Platform != nil && e.Platform.OS == "linux" && e.Platform.Architecture == "amd64" {
			return e.Digest, nil
		}
		if first == "" && (e.Platform == nil || e.Platform.OS != "unknown") {
			first = e.Digest
		}
	}
	if first == "" {
		return "", errors.New("image index lists no image")
	}
	return first, nil
}

// decodeCreated reads "created" from an image config blob.
func decodeCreated(body []byte) (time.Time, error) {
	var c struct {
		Created *time.Time `json:"created"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return time.Time{}, fmt.Errorf("not an image config: %w", err)
	}
	if c.Created == nil {
		return time.Time{}, nil
	}
	return c.Created.UTC(), nil
}

// resolve reads the digest of tag and the creation time of its image: the
// manifest (or index, then the linux/amd64 manifest), then the config blob.
// A digest seen before costs only the first request.
func (r *registry) resolve(ctx context.Context, tag string) (string, time.Time, error) {
	hdr := http.Header{"Accept": {manifestAccepts}}
	resp, err := r.auth.get(ctx, r.manifestURL(tag), hdr)
	if err != nil {
		return "", time.Time{}, err
	}
	digest := resp.Header.Get("Docker-Content-Digest")
	if digest == "" {
		sum := sha256.Sum256(resp.Body)
		digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	if !digestRE.MatchString(digest) {
		return "", time.Time{}, fmt.Errorf("registry: tag %s: bad digest %q", tag, text.Clip(digest, 100))
	}
	if t, ok := r.cachedCreation(digest); ok {
		return digest, t, nil
	}
	m, err := decodeManifest(resp.Body, resp.Header.Get("Content-Type"))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("registry: tag %s: %w", tag, err)
	}
	if m.isIndex() {
		child, err := m.platformDigest()
		if err == nil && !digestRE.MatchString(child) {
			err = fmt.Errorf("bad digest %q", text.Clip(child, 100))
		}
		if err != nil {
			return "", time.Time{}, fmt.Errorf("registry: tag %s: %w", tag, err)
		}
		if resp, err = r.auth.get(ctx, r.manifestURL(child), hdr); err != nil {
			return "", time.Time{}, err
		}
		if m, err = decodeManifest(resp.Body, resp.Header.Get("Content-Type")); err != nil {
			return "", time.Time{}, fmt.Errorf("registry: tag %s: %w", tag, err)
		}
	}
	if m.Config == nil || !digestRE.MatchString(m.Config.Digest) {
		return "", time.Time{}, fmt.Errorf("registry: tag %s: manifest has no config digest", tag)
	}
	blob, err := r.auth.get(ctx, r.blobURL(m.Config.Digest), http.Header{})
	if err != nil {
		return "", time.Time{}, err
	}
	created, err := decodeCreated(blob.Body)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("registry: tag %s: %w", tag, err)
	}
	return digest, created, nil
}
