package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Installed is what is known about the installed version.
type Installed struct {
	Version  version.V // the version to plan from: the running one when known
	Tag      string    // TAG in .env (compose) or the tag at HEAD (source), as written
	Running  version.V // APP_VERSION of the running server container (compose)
	Image    string    // image ID of the running server container
	Warnings []string  // disagreements, aliases, missing containers
}

// Current reads the installed version.
//
// compose mode: TAG from the install's .env and, when a server container
// runs, its APP_VERSION; when they disagree the running one wins (Twenty's
// image is the source of truth, and a TAG edited by hand may not be applied
// yet). source mode: the exact tag at HEAD of the checkout.
func Current(ctx context.Context, r proc.Runner, cfg config.Config) (Installed, error) {
	if cfg.Install.Mode == "source" {
		return currentSource(ctx, r, cfg.Install)
	}
	var in Installed
	tag, ok, err := envfile.GetFile(cfg.Install.EnvFile, "TAG")
	if err != nil {
		return in, fmt.Errorf("installed version: %w (is install.dir right?)", err)
	}
	in.Tag = tag
	tagV, tagErr := version.Parse(tag)
	switch {
	case !ok:
		in.Warnings = append(in.Warnings, fmt.Sprintf("%s has no TAG line (compose then runs :latest); the running version is used", cfg.Install.EnvFile))
	case tagErr != nil:
		in.Warnings = append(in.Warnings, fmt.Sprintf("TAG=%s in %s is not a release version; the running version is used", tag, cfg.Install.EnvFile))
	}
	c, err := Detect(ctx, r, cfg.Install)
	if err == nil {
		in.Running, in.Image, err = runningVersion(ctx, r, c, cfg.Install.ServerService)
	}
	if err != nil {
		in.Warnings = append(in.Warnings, "running version unknown: "+err.Error())
	}
	switch {
	case !in.Running.IsZero():
		in.Version = in.Running
		if tagErr == nil && tagV != in.Running {
			in.Warnings = append(in.Warnings, fmt.Sprintf("TAG=%s in .env but the server runs %s: using %s", tagV, in.Running, in.Running))
		}
	case tagErr == nil:
		in.Version = tagV
	default:
		return in, fmt.Errorf("installed version unknown: set TAG in %s to the exact running version (vX.Y.Z) or start Twenty so its APP_VERSION can be read", cfg.Install.EnvFile)
	}
	return in, nil
}

// runningVersion reads APP_VERSION from the running server container's environment.
func runningVersion(ctx context.Context, r proc.Runner, c Compose, service string) (version.V, string, error) {
	id, err := c.ContainerID(ctx, r, service)
	if err != nil {
		return version.V{}, "", err
	}
	if id == "" {
		return version.V{}, "", errors.New("no running " + service + " container")
	}
	res, err := r.Run(ctx, proc.Cmd{Argv: []string{"docker", "inspect", "--format", "{{.Image}}\n{{range .Config.Env}}{{println .}}{{end}}", id}, Timeout: time.Minute})
	if err != nil {
		return version.V{}, "", fmt.Errorf("inspect %s container: %w", service, err)
	}
	lines := strings.Split(string(res.Stdout), "\n")
	image := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "APP_VERSION="); ok {
			p, err := version.Parse(strings.TrimSpace(v))
			if err != nil {
				return version.V{}, image, fmt.Errorf("APP_VERSION of the %s container: %w", service, err)
			}
			return p, image, nil
		}
	}
	return version.V{}, image, fmt.Errorf("the %s container has no APP_VERSION", service)
}

func currentSource(ctx context.Context, r proc.Runner, in config.Install) (Installed, error) {
	res, err := r.Run(ctx, proc.Cmd{Argv: []string{"git", "-C", in.Dir, "tag", "--points-at", "HEAD"}, Timeout: time.Minute})
	if err != nil {
		return Installed{}, fmt.Errorf("installed version: %w", err)
	}
	var best version.V
	var tags []string
	for _, t := range strings.Fields(string(res.Stdout)) {
		tags = append(tags, t)
		if v, err := version.ParseTag(t); err == nil && best.Less(v) {
			best = v
		}
	}
	if best.IsZero() {
		return Installed{}, fmt.Errorf("installed version unknown: HEAD of %s is not at a release tag (tags there: %q); check out the tag of the running version", in.Dir, tags)
	}
	return Installed{Version: best, Tag: best.String()}, nil
}
