package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/twenty"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Command is one source-mode command and the folder it runs in, relative
// to the checkout ("" = its root).
type Command struct {
	Argv []string
	Dir  string
}

// SourcePlan is what source mode runs for one checked-out tag: the commands
// that exist in that tag's package.json files, run where they live, unless
// [source] names its own (docs/twenty.md, "source").
type SourcePlan struct {
	Ref        string
	Clean      []Command // source.clean, when configured
	RemoveDirs []string  // otherwise: build output folders the daemon removes itself
	Install    []Command
	Build      []Command
	Migrate    []Command
	Upgrade    []Command // the workspace migrations (yarn command:prod upgrade)
	FlushCache []Command
	Notes      []string // where the guide's names do not exist in this tag, and what runs instead
}

// serverDir is the server package, where database:migrate:prod and
// command:prod live.
const serverDir = "packages/twenty-server"

// buildOutputs are the folders "clean" means: the server's dist and the
// front's build, never anything git tracks.
var buildOutputs = []string{"packages/twenty-server/dist", "packages/twenty-front/build", "packages/twenty-front/dist"}

type packageJSON struct {
	Scripts map[string]string `json:"scripts"`
}

func scripts(data []byte) (map[string]string, error) {
	if data == nil {
		return map[string]string{}, nil
	}
	var p packageJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if p.Scripts == nil {
		p.Scripts = map[string]string{}
	}
	return p.Scripts, nil
}

// PlanSource builds the source plan of release v from its root and server
// package.json (nil when absent) and whether it has the front package.
func PlanSource(v version.V, rootPkg, serverPkg []byte, hasFront bool, src config.Source) (SourcePlan, error) {
	root, err := scripts(rootPkg)
	if err != nil {
		return SourcePlan{}, fmt.Errorf("package.json: %w", err)
	}
	server, err := scripts(serverPkg)
	if err != nil {
		return SourcePlan{}, fmt.Errorf("%s/package.json: %w", serverDir, err)
	}
	var p SourcePlan
	note := func(format string, args ...any) { p.Notes = append(p.Notes, fmt.Sprintf(format, args...)) }
	at := func(dir string, argv ...string) []Command { return []Command{{Argv: argv, Dir: dir}} }
	configured := func(argv []string) []Command { return at("", argv...) }

	if len(src.Clean) > 0 {
		p.Clean = configured(src.Clean)
	} else {
		p.RemoveDirs = buildOutputs
		if _, ok := root["clean"]; !ok {
			note("the guide's `yarn clean`: package.json has no clean script; the daemon removes %s itself", strings.Join(buildOutputs, ", "))
		}
	}

	if len(src.Install) > 0 {
		p.Install = configured(src.Install)
	} else {
		p.Install = at("", "yarn", "install")
	}

	switch {
	case len(src.Build) > 0:
		p.Build = configured(src.Build)
	default:
		if _, ok := root["build"]; !ok {
			note("the guide's `yarn build`: package.json has no build script; the build is Nx: npx nx build twenty-server%s", map[bool]string{true: " and twenty-front", false: ""}[hasFront])
		}
		p.Build = at("", "npx", "nx", "build", "twenty-server")
		if hasFront {
			p.Build = append(p.Build, at("", "npx", "nx", "build", "twenty-front")...)
		}
	}

	_, serverHasMigrate := server["database:migrate:prod"]
	_, rootHasMigrate := root["database:migrate:prod"]
	_, serverHasCommand := server["command:prod"]
	_, rootHasCommand := root["command:prod"]
	switch {
	case len(src.Migrate) > 0:
		p.Migrate = configured(src.Migrate)
	case serverHasMigrate:
		p.Migrate = at(serverDir, "yarn", "database:migrate:prod")
		if !rootHasMigrate {
			note("the guide's `yarn database:migrate:prod` is a script of %s/package.json: run there", serverDir)
		}
	case rootHasMigrate:
		p.Migrate = at("", "yarn", "database:migrate:prod")
	default:
		return SourcePlan{}, fmt.Errorf("%s has no database:migrate:prod script in package.json or %s/package.json: set source.migrate to the command that migrates this release", v, serverDir)
	}

	commandDir, hasCommand := serverDir, serverHasCommand
	if !serverHasCommand && rootHasCommand {
		commandDir, hasCommand = "", true
	}
	switch {
	case len(src.Upgrade) > 0:
		p.Upgrade = configured(src.Upgrade)
	case !twenty.Has(v, twenty.WorkspaceUpgradeCommand):
		// Older releases migrate workspaces in database:migrate:prod.
	case hasCommand:
		p.Upgrade = at(commandDir, "yarn", "command:prod", "upgrade")
		note("the guide never runs `yarn command:prod upgrade`, which applies the workspace migrations since %s: it runs after database:migrate:prod", twenty.Since(twenty.WorkspaceUpgradeCommand))
	default:
		return SourcePlan{}, fmt.Errorf("%s has no command:prod script to run the workspace upgrade: set source.upgrade", v)
	}

	switch {
	case len(src.FlushCache) > 0:
		p.FlushCache = configured(src.FlushCache)
	case hasCommand:
		p.FlushCache = at(commandDir, "yarn", "command:prod", "cache:flush")
	default:
		note("no command:prod script: the cache is not flushed (set source.flush_cache)")
	}
	return p, nil
}

// SourcePlanAt reads ref's package.json files with git and plans release v.
func (i *Install) SourcePlanAt(ctx context.Context, ref string, v version.V, src config.Source) (SourcePlan, error) {
	show := func(path string) ([]byte, error) {
		if _, err := i.r.Run(ctx, i.Git("cat-file", "-e", ref+":"+path)); err != nil {
			var pe *proc.Error
			if errors.As(err, &pe) && pe.ExitCode > 0 {
				return nil, nil // not in this tag
			}
			return nil, err
		}
		res, err := i.r.Run(ctx, i.Git("show", ref+":"+path))
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", path, ref, err)
		}
		return res.Stdout, nil
	}
	rootPkg, err := show("package.json")
	if err != nil {
		return SourcePlan{}, err
	}
	if rootPkg == nil {
		return SourcePlan{}, fmt.Errorf("%s has no package.json at %s: is install.dir the Twenty monorepo?", i.Dir, ref)
	}
	serverPkg, err := show(serverDir + "/package.json")
	if err != nil {
		return SourcePlan{}, err
	}
	front, err := show("packages/twenty-front/package.json")
	if err != nil {
		return SourcePlan{}, err
	}
	p, err := PlanSource(v, rootPkg, serverPkg, front != nil, src)
	p.Ref = ref
	return p, err
}

// Cmd is c run in the checkout at root (the install folder, or an
// early-build worktree).
func (c Command) Cmd(root string, timeout time.Duration) proc.Cmd {
	return proc.Cmd{Argv: c.Argv, Dir: filepath.Join(root, c.Dir), Timeout: timeout}
}

// RemoveOutputs deletes the plan's build output folders under root, but
// only those git ignores: nothing tracked is ever removed.
func (i *Install) RemoveOutputs(ctx context.Context, root string, dirs []string) ([]string, error) {
	var removed []string
	for _, d := range dirs {
		path := filepath.Join(root, d)
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		if _, err := i.r.Run(ctx, proc.Cmd{Argv: []string{"git", "-C", root, "check-ignore", "-q", d}, Timeout: i.timeouts.Command}); err != nil {
			return removed, fmt.Errorf("not removing %s: git does not ignore it (is it tracked?): %w", path, err)
		}
		if err := os.RemoveAll(path); err != nil {
			return removed, fmt.Errorf("remove %s: %w", path, err)
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// Describe renders the plan's commands for the dry run and the recovery text.
func (p SourcePlan) Describe(step string) []string {
	var cmds []Command
	switch step {
	case "clean":
		if p.RemoveDirs != nil {
			return []string{"rm -rf " + strings.Join(p.RemoveDirs, " ") + "   (only what git ignores)"}
		}
		cmds = p.Clean
	case "install":
		cmds = p.Install
	case "build":
		cmds = p.Build
	case "migrate":
		cmds = p.Migrate
	case "upgrade_workspaces":
		cmds = p.Upgrade
	case "flush_cache":
		cmds = p.FlushCache
	}
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		s := proc.Quote(c.Argv)
		if c.Dir != "" {
			s = "(cd " + c.Dir + " && " + s + ")"
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}
