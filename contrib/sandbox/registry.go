package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Registry is a distribution v3 registry running as a host process on
// loopback, serving Twenty's image name.
type Registry struct {
	Addr   string // 127.0.0.1:port
	Dir    string // config, storage and log
	imgs   *Images
	cancel context.CancelFunc
	done   chan error
	pushed map[string]bool
}

// Image is the image repository as compose and the daemon see it.
func (r *Registry) Image() string { return r.Addr + "/twentycrm/twenty" }

// StartRegistry starts a registry storing under dir.
func StartRegistry(ctx context.Context, dir string, imgs *Images) (*Registry, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, imgs: imgs, done: make(chan error, 1), pushed: map[string]bool{}}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), r.Addr)
	confPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write registry config: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer logf.Close()
		_, err := proc.Exec{KillGrace: 3 * time.Second}.Run(rctx, proc.Cmd{Argv: []string{RegistryBin(), "serve", confPath}, Stdout: logf, Stderr: logf})
		r.done <- err
	}()
	if err := r.waitUp(ctx); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

func (r *Registry) waitUp(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			r.done <- err
			log, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
			return fmt.Errorf("registry exited on start: %v: %s", err, log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("registry did not answer /v2/ within 15s")
}

// Publish pushes release tags to the registry ("a release appears").
func (r *Registry) Publish(ctx context.Context, tags ...string) error {
	for _, tag := range tags {
		src, ok := r.imgs.ByTag[tag]
		if !ok {
			return fmt.Errorf("no sandbox release %q (see sandbox.Releases)", tag)
		}
		dst := r.Image() + ":" + tag
		if _, err := runArgv(ctx, "docker", "tag", src, dst); err != nil {
			return err
		}
		if _, err := runArgv(ctx, "docker", "push", "-q", dst); err != nil {
			return fmt.Errorf("push %s: %w", dst, err)
		}
		r.pushed[tag] = true
	}
	return nil
}

// PublishAlias pushes an alias tag (v1.22) for a full one, as Docker Hub
// serves them.
func (r *Registry) PublishAlias(ctx context.Context, alias, tag string) error {
	src, ok := r.imgs.ByTag[tag]
	if !ok {
		return fmt.Errorf("no sandbox release %q (see sandbox.Releases)", tag)
	}
	dst := r.Image() + ":" + alias
	if _, err := runArgv(ctx, "docker", "tag", src, dst); err != nil {
		return err
	}
	if _, err := runArgv(ctx, "docker", "push", "-q", dst); err != nil {
		return fmt.Errorf("push %s: %w", dst, err)
	}
	return nil
}

// Unpublish deletes a tag from the registry ("a tag disappears") and drops
// the local name so only a pull could bring it back.
func (r *Registry) Unpublish(ctx context.Context, tag string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+r.Addr+"/v2/twentycrm/twenty/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	digest := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || digest == "" {
		return fmt.Errorf("tag %s not in the registry (HTTP %d)", tag, resp.StatusCode)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+r.Addr+"/v2/twentycrm/twenty/manifests/"+digest, nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("delete %s: HTTP %d", tag, resp.StatusCode)
	}
	delete(r.pushed, tag)
	_, _ = runArgv(ctx, "docker", "rmi", r.Image()+":"+tag)
	return nil
}

// Forget removes the local registry-named tag so that the next `pull`
// really downloads it (the image itself stays under its sandbox name).
func (r *Registry) Forget(ctx context.Context, tag string) error {
	_, err := runArgv(ctx, "docker", "rmi", r.Image()+":"+tag)
	return err
}

// Get fetches a registry API path such as /v2/twentycrm/twenty/tags/list.
func (r *Registry) Get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// Stop ends the registry process and drops the local registry-named tags.
func (r *Registry) Stop() {
	for tag := range r.pushed {
		_, _ = runArgv(context.Background(), "docker", "rmi", r.Image()+":"+tag)
	}
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
