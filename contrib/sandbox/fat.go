package sandbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// FatImage returns the image of release tag plus one layer of mb MiB of
// incompressible data, built once and cached: pulling it takes a while, as
// pulling real Twenty (about 1 GB) does. The benchmark of the seed guide's
// order (down → pull → up) publishes it with Registry.PublishRef.
func FatImage(ctx context.Context, imgs *Images, tag string, mb int) (string, error) {
	base, ok := imgs.ByTag[tag]
	if !ok {
		return "", fmt.Errorf("no sandbox release %q (see sandbox.Releases)", tag)
	}
	ref := fmt.Sprintf("%s-fat%dm", base, mb)
	if imageExists(ctx, ref) {
		return ref, nil
	}
	dir, err := os.MkdirTemp("", "twenty-sandbox-fat-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "node_modules.bin"))
	if err != nil {
		return "", err
	}
	_, err = io.CopyN(f, rand.Reader, int64(mb)<<20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write fat layer: %w", err)
	}
	return ref, dockerBuild(ctx, ref, dir, fmt.Sprintf("FROM %s\nCOPY node_modules.bin /app/node_modules.bin\n", base))
}

// PublishFat publishes release tag as a FatImage of mb MiB and then removes
// every local copy, so the next `pull` of the tag really downloads mb MiB.
// Pushing it again later rebuilds it (a few seconds).
func (r *Registry) PublishFat(ctx context.Context, tag string, mb int) error {
	ref, err := FatImage(ctx, r.imgs, tag, mb)
	if err != nil {
		return err
	}
	if err := r.PublishRef(ctx, tag, ref); err != nil {
		return err
	}
	for _, name := range []string{r.Image() + ":" + tag, ref} {
		if _, err := runArgv(ctx, "docker", "rmi", name); err != nil {
			return fmt.Errorf("drop local copy of the fat image: %w", err)
		}
	}
	return nil
}

// PublishRef pushes a local image under a release tag (e.g. a FatImage).
func (r *Registry) PublishRef(ctx context.Context, tag, ref string) error {
	dst := r.Image() + ":" + tag
	if _, err := runArgv(ctx, "docker", "tag", ref, dst); err != nil {
		return err
	}
	if _, err := runArgv(ctx, "docker", "push", "-q", dst); err != nil {
		return fmt.Errorf("push %s: %w", dst, err)
	}
	r.pushed[tag] = true
	return nil
}

// isFat reports whether ref is a FatImage build (pruneStale keeps those of
// current releases).
func isFat(ref string) bool { return strings.Contains(ref, "-fat") }
