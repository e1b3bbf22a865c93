package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Local image names. Hashed tags are immutable builds; the compose file uses
// the moving DBImage and RedisImage tags.
const (
	DBImage    = "twentysandbox/postgres:15"
	RedisImage = "twentysandbox/redis:7"
	simRepo    = "twentysandbox/twenty"
	pgDir      = "/usr/lib/postgresql/15"
)

// Images is the built image set, shared by every stack of a process.
type Images struct {
	SimBase string            // FROM scratch + twenty-sim: runs `twenty-sim checksum` one-offs
	ByTag   map[string]string // release tag → local image (ENV-only layer over SimBase)
	DB      string
	Redis   string
}

var imagesOnce struct {
	sync.Once
	imgs *Images
	err  error
}

// EnsureImages builds whatever is missing (cached across runs by content
// hash) and returns the image set.
func EnsureImages(ctx context.Context) (*Images, error) {
	imagesOnce.Do(func() {
		start := time.Now()
		err := withLock(filepath.Join(ToolsDir(), "sandbox-images.lock"), func() error {
			var err error
			imagesOnce.imgs, err = buildImages(ctx)
			return err
		})
		if err != nil {
			imagesOnce.err = fmt.Errorf("build sandbox images: %w", err)
		}
		if os.Getenv("SANDBOX_VERBOSE") != "" {
			fmt.Fprintf(os.Stderr, "sandbox: images ready in %s\n", time.Since(start).Round(time.Millisecond))
		}
	})
	return imagesOnce.imgs, imagesOnce.err
}

func buildImages(ctx context.Context) (*Images, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "twenty-sandbox-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	for _, cmd := range []string{"twenty-sim", "pg-entrypoint"} {
		if _, err := run(ctx, proc.Cmd{Dir: root, Env: []string{"CGO_ENABLED=0"},
			Argv: []string{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(work, cmd), "./contrib/sandbox/cmd/" + cmd}}); err != nil {
			return nil, err
		}
	}
	imgs := &Images{ByTag: map[string]string{}}
	if imgs.SimBase, err = buildSimBase(ctx, work); err != nil {
		return nil, err
	}
	if err := buildReleases(ctx, imgs); err != nil {
		return nil, err
	}
	if imgs.DB, err = buildDB(ctx, work); err != nil {
		return nil, err
	}
	if imgs.Redis, err = buildRedis(ctx, work); err != nil {
		return nil, err
	}
	pruneStale(ctx, imgs)
	return imgs, nil
}

// pruneStale removes sandbox builds from older sources so they do not pile
// up; images still used by a container stay (docker refuses, we ignore it).
// Only builds older than pruneAge go: another checkout on the same machine
// (a CI clone beside a working tree, two worktrees) builds from other
// sources, and removing its fresh images mid-run failed its tests.
func pruneStale(ctx context.Context, imgs *Images) {
	keep := map[string]bool{imgs.SimBase: true, imgs.DB: true, imgs.Redis: true, DBImage: true, RedisImage: true}
	for _, ref := range imgs.ByTag {
		keep[ref] = true
	}
	out, err := runArgv(ctx, "docker", "images", "--filter", "label=twenty-upgraded.sandbox=1", "--format", "{{.Repository}}:{{.Tag}}\t{{.CreatedAt}}")
	if err != nil {
		return
	}
	for _, ref := range staleRefs(string(out), keep, time.Now()) {
		_, _ = runArgv(ctx, "docker", "rmi", ref)
	}
}

// pruneAge is how old a sandbox build from other sources must be before
// pruneStale removes it: longer than any test run or demo.
const pruneAge = 24 * time.Hour

// staleRefs picks, from `docker images` lines "repo:tag<TAB>created", the
// sandbox images pruneStale removes: not kept, not the fat variant of a kept
// one, and created more than pruneAge before now. A line whose date does not
// parse is kept.
func staleRefs(lines string, keep map[string]bool, now time.Time) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		ref, created, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok || !strings.HasPrefix(ref, "twentysandbox/") || keep[ref] {
			continue
		}
		if base, _, _ := strings.Cut(ref, "-fat"); isFat(ref) && keep[base] {
			continue
		}
		at, err := time.Parse("2006-01-02 15:04:05 -0700 MST", created)
		if err != nil || now.Sub(at) < pruneAge {
			continue
		}
		out = append(out, ref)
	}
	return out
}

func imageExists(ctx context.Context, ref string) bool {
	_, err := runArgv(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref)
	return err == nil
}

// dockerBuild builds dir (nil dir: Dockerfile from stdin, no context).
func dockerBuild(ctx context.Context, ref, dir, dockerfile string) error {
	c := proc.Cmd{Env: []string{"DOCKER_BUILDKIT=0"}, Argv: []string{"docker", "build", "-q", "--label", "twenty-upgraded.sandbox=1", "-t", ref}}
	if dir == "" {
		c.Argv, c.Stdin = append(c.Argv, "-"), strings.NewReader(dockerfile)
	} else {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			return err
		}
		c.Argv = append(c.Argv, dir)
	}
	_, err := run(ctx, c)
	return err
}

func fileHash(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12], nil
}

func buildSimBase(ctx context.Context, work string) (string, error) {
	h, err := fileHash(filepath.Join(work, "twenty-sim"))
	if err != nil {
		return "", err
	}
	ref := simRepo + ":base-" + h
	if imageExists(ctx, ref) {
		return ref, nil
	}
	dir := filepath.Join(work, "sim")
	fs := newRootfs()
	fs.addBase()
	fs.copies["/usr/local/bin/twenty-sim"] = filepath.Join(work, "twenty-sim")
	fs.dirs["/app/packages/twenty-server/.local-storage"] = 0o755
	if err := fs.materialise(filepath.Join(dir, "rootfs")); err != nil {
		return "", err
	}
	// argv[0] dispatch: `yarn command:prod ...`, `yarn worker:prod`, `tar`.
	for _, link := range []string{"usr/local/bin/yarn", "usr/local/bin/tar", "bin/tar"} {
		p := filepath.Join(dir, "rootfs", link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.Symlink("/usr/local/bin/twenty-sim", p); err != nil {
			return "", err
		}
	}
	return ref, dockerBuild(ctx, ref, dir, `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin NODE_PORT=3000 NODE_ENV=production
WORKDIR /app/packages/twenty-server
EXPOSE 3000
CMD ["twenty-sim", "server"]
`)
}

// buildReleases builds every release image, three at a time.
func buildReleases(ctx context.Context, imgs *Images) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(Releases))
	sem := make(chan struct{}, 3)
	for i, rel := range Releases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ref, err := buildRelease(ctx, imgs.SimBase, rel)
			mu.Lock()
			imgs.ByTag[rel.Tag], errs[i] = ref, err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// buildRelease bakes one tag's version and behaviour into ENV over the base.
func buildRelease(ctx context.Context, base string, rel Release) (string, error) {
	df := fmt.Sprintf(`FROM %s
ENV APP_VERSION=%s TWENTY_SIM_MODE=%q TWENTY_SIM_REPORTED_VERSION=%q TWENTY_SIM_SLOW_MIGRATION=%s
LABEL org.opencontainers.image.version=%s org.opencontainers.image.title="twenty (sandbox simulator)"
`, base, rel.APPVersion(), rel.Mode, rel.Reported, SlowMigrationDelay, rel.Tag)
	sum := sha256.Sum256([]byte(df))
	ref := fmt.Sprintf("%s:%s-%s", simRepo, rel.Tag, hex.EncodeToString(sum[:])[:12])
	if imageExists(ctx, ref) {
		return ref, nil
	}
	return ref, dockerBuild(ctx, ref, "", df)
}

// buildDB assembles PostgreSQL 15 from this machine's files.
func buildDB(ctx context.Context, work string) (string, error) {
	fs := newRootfs()
	fs.addBase()
	var bins []string
	for _, b := range []string{"postgres", "initdb", "pg_ctl", "pg_dump", "pg_dumpall", "pg_restore", "psql", "pg_isready", "createdb", "dropdb"} {
		bins = append(bins, pgDir+"/bin/"+b)
	}
	libs, err := filepath.Glob(pgDir + "/lib/*.so")
	if err != nil {
		return "", err
	}
	for _, l := range libs {
		if !strings.Contains(l, "llvmjit") {
			bins = append(bins, l)
		}
	}
	// initdb and pg_ctl popen() through /bin/sh; pg_dumpall system()s pg_dump.
	// rm: the backup removes the dump it docker-cp'd into /tmp for a parallel
	// pg_restore, as it can in the official (Debian-based) postgres image.
	bins = append(bins, "/bin/dash", "/bin/rm")
	if err := fs.addBinaries(ctx, bins...); err != nil {
		return "", err
	}
	fs.copies["/bin/sh"] = "/bin/dash"
	for _, tree := range []string{"/usr/share/postgresql/15", "/usr/share/zoneinfo"} {
		if err := fs.addTree(tree, func(p string) bool { return strings.HasSuffix(p, "/man") || strings.HasSuffix(p, "zoneinfo/right") }); err != nil {
			return "", err
		}
	}
	fs.copies["/usr/local/bin/docker-entrypoint"] = filepath.Join(work, "pg-entrypoint")
	fs.built["/usr/local/bin/docker-entrypoint"] = true
	fs.dirs["/var/run/postgresql"] = 0o2775
	fs.dirs["/var/lib/postgresql/data"] = 0o700
	return buildRootfsImage(ctx, work, "db", DBImage, fs, `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/bin PGDATA=/var/lib/postgresql/data TZ=UTC
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/docker-entrypoint"]
`)
}

// buildRedis assembles redis-server and redis-cli from this machine.
func buildRedis(ctx context.Context, work string) (string, error) {
	fs := newRootfs()
	fs.addBase()
	if err := fs.addBinaries(ctx, "/usr/bin/redis-server", "/usr/bin/redis-cli"); err != nil {
		return "", err
	}
	fs.dirs["/data"] = 0o755
	return buildRootfsImage(ctx, work, "redis", RedisImage, fs, `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
`)
}

// buildRootfsImage builds fs into "<moving>-<hash>" unless it exists, and
// points the moving tag at it.
func buildRootfsImage(ctx context.Context, work, name, moving string, fs *rootfs, dockerfile string) (string, error) {
	h, err := fs.hash(dockerfile)
	if err != nil {
		return "", err
	}
	ref := moving + "-" + h
	if !imageExists(ctx, ref) {
		dir := filepath.Join(work, name)
		if err := fs.materialise(filepath.Join(dir, "rootfs")); err != nil {
			return "", err
		}
		if err := dockerBuild(ctx, ref, dir, dockerfile); err != nil {
			return "", err
		}
	}
	if _, err := runArgv(ctx, "docker", "tag", ref, moving); err != nil {
		return "", err
	}
	return ref, nil
}
