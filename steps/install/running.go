package install

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Container is a running container of a compose service.
type Container struct {
	Service    string
	ID         string
	ImageID    string // sha256:… of the image it runs
	ImageRef   string // the image reference it was created from (repo:tag)
	Status     string // docker's State.Status: running, restarting, exited …
	Health     string // healthy, unhealthy, starting, or "none" without a health check
	AppVersion string // APP_VERSION from its environment, as written ("" when unset)
}

// inspectFormat prints one line of facts, then the environment, one
// variable a line. Only APP_VERSION is kept from the environment: the rest
// holds secrets.
const inspectFormat = "{{.Image}} {{.Config.Image}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}\n{{range .Config.Env}}{{println .}}{{end}}"

// ContainerID is the ID of service's container ("" when none exists).
func (i *Install) ContainerID(ctx context.Context, service string) (string, error) {
	res, err := i.r.Run(ctx, i.compose(time.Minute, "ps", "-q", service))
	if err != nil {
		return "", fmt.Errorf("find the %s container: %w", service, err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(res.Stdout)), "\n")
	return id, nil
}

// Container reads service's container with one ps and one inspect. ok is
// false when the service has no container.
func (i *Install) Container(ctx context.Context, service string) (c Container, ok bool, err error) {
	id, err := i.ContainerID(ctx, service)
	if err != nil || id == "" {
		return Container{Service: service}, false, err
	}
	res, err := i.r.Run(ctx, proc.Cmd{Argv: []string{"docker", "inspect", "--format", inspectFormat, id}, Timeout: time.Minute})
	if err != nil {
		return Container{Service: service}, false, fmt.Errorf("inspect the %s container: %w", service, err)
	}
	c, err = parseInspect(service, id, string(res.Stdout))
	return c, err == nil, err
}

func parseInspect(service, id, out string) (Container, error) {
	first, rest, _ := strings.Cut(out, "\n")
	f := strings.Fields(first)
	if len(f) != 4 {
		return Container{Service: service}, fmt.Errorf("inspect the %s container: unexpected answer %q", service, first)
	}
	c := Container{Service: service, ID: id, ImageID: f[0], ImageRef: f[1], Status: f[2], Health: f[3]}
	for _, l := range strings.Split(rest, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "APP_VERSION="); ok {
			c.AppVersion = v
		}
	}
	return c, nil
}

// Installed is what is known about the installed version.
type Installed struct {
	Version    version.V // the version to plan from: the running one when known
	Tag        string    // TAG in .env (compose) or the tag at HEAD (source), as written
	Alias      bool      // TAG is an alias (latest, vX, vX.Y) that names no exact version
	Running    version.V // APP_VERSION of the running server container (compose)
	AppVersion string    // that APP_VERSION as written ("1.22.4" or "v1.22.4"; "" when unknown)
	Image      string    // image ID of the running server container
	Warnings   []string  // disagreements, aliases, missing containers
}

// Current reads the installed version.
//
// compose mode: TAG from the .env (with or without its v) and, when a
// server container runs, its APP_VERSION (with or without its v); when they
// disagree the running one wins (what runs is the truth, and a TAG edited
// by hand may not be applied yet). An alias TAG (v1.22, latest) names no
// version: the running container decides. source mode: the exact tag at
// HEAD of the checkout.
func (i *Install) Current(ctx context.Context) (Installed, error) {
	if i.Mode == ModeSource {
		return i.currentSource(ctx)
	}
	env, err := readEnv(i.EnvFile)
	if err != nil {
		return Installed{}, err
	}
	var in Installed
	tag, hasTag := env["TAG"]
	in.Tag = tag
	tagV, tagErr := version.ParseLoose(tag)
	alias, isAlias := version.ParseAlias(tag)
	in.Alias = tagErr != nil && isAlias
	if !hasTag {
		alias, isAlias, in.Alias = version.Alias{Latest: true}, true, true
	}
	c, ok, err := i.Container(ctx, i.Server)
	switch {
	case err != nil:
		in.Warnings = append(in.Warnings, "running version unknown: "+err.Error())
	case !ok:
		in.Warnings = append(in.Warnings, "running version unknown: no "+i.Server+" container")
	case c.AppVersion == "":
		in.Warnings = append(in.Warnings, "running version unknown: the "+i.Server+" container has no APP_VERSION")
	default:
		in.Image, in.AppVersion = c.ImageID, c.AppVersion
		if in.Running, err = version.ParseLoose(c.AppVersion); err != nil {
			in.Warnings = append(in.Warnings, fmt.Sprintf("APP_VERSION=%q of the %s container is not a release version", c.AppVersion, i.Server))
		}
	}
	switch {
	case !hasTag:
		in.Warnings = append(in.Warnings, fmt.Sprintf("%s has no TAG line (compose then runs :latest)", i.EnvFile))
	case in.Alias:
		in.Warnings = append(in.Warnings, fmt.Sprintf("TAG=%s in %s is an alias, not a version: the running container says which version it is", tag, i.EnvFile))
	case tagErr != nil:
		in.Warnings = append(in.Warnings, fmt.Sprintf("TAG=%s in %s is not a release version", tag, i.EnvFile))
	}
	switch {
	case !in.Running.IsZero():
		in.Version = in.Running
		if tagErr == nil && tagV != in.Running {
			in.Warnings = append(in.Warnings, fmt.Sprintf("TAG=%s in .env but the server runs %s: using %s", tag, in.Running, in.Running))
		}
		if in.Alias && !alias.Covers(in.Running) {
			in.Warnings = append(in.Warnings, fmt.Sprintf("TAG=%s in .env but the server runs %s, which that alias does not name", tag, in.Running))
		}
	case tagErr == nil:
		in.Version = tagV
	default:
		return in, fmt.Errorf("installed version unknown: %s; set TAG in %s to the exact running version (vX.Y.Z), or start Twenty so its APP_VERSION can be read", strings.Join(in.Warnings, "; "), i.EnvFile)
	}
	return in, nil
}

func (i *Install) currentSource(ctx context.Context) (Installed, error) {
	res, err := i.r.Run(ctx, i.Git("tag", "--points-at", "HEAD"))
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
		return Installed{}, fmt.Errorf("installed version unknown: HEAD of %s is not at a release tag (tags there: %q); check out the tag of the running version", i.Dir, tags)
	}
	return Installed{Version: best, Tag: best.String()}, nil
}
