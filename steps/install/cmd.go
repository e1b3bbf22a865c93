package install

import (
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// The commands below are every docker, compose and git command the daemon
// runs against the install. Each returns a proc.Cmd with its timeout from
// [timeouts]; callers may only add Stdin or Stdout.

// Pull pulls the server and worker images of tag while Twenty still serves.
// TAG goes in the environment, which compose prefers over .env.
func (i *Install) Pull(tag version.V) proc.Cmd {
	c := i.compose(i.timeouts.Pull, "pull", i.Server, i.Worker)
	c.Env = []string{"TAG=" + tag.String()}
	return c
}

// StopWriters stops the server and the worker; db and redis stay up.
func (i *Install) StopWriters() proc.Cmd {
	return i.compose(i.timeouts.Stop, "stop", i.Server, i.Worker)
}

// UpServer starts the server alone (its migrations run on start).
func (i *Install) UpServer() proc.Cmd {
	return i.compose(i.timeouts.Start, "up", "-d", "--no-deps", i.Server)
}

// Up starts every service.
func (i *Install) Up() proc.Cmd { return i.compose(i.timeouts.Start, "up", "-d") }

// UpBuild rebuilds the images from the checkout and starts every service (source mode).
func (i *Install) UpBuild() proc.Cmd { return i.compose(i.timeouts.Build, "up", "-d", "--build") }

// UpServices starts the given services (a restore's writers, or db alone).
func (i *Install) UpServices(services ...string) proc.Cmd {
	return i.compose(i.timeouts.Start, append([]string{"up", "-d"}, services...)...)
}

// UpDB starts the db service (a no-op when it runs).
func (i *Install) UpDB() proc.Cmd { return i.UpServices(i.DBSvc) }

// ExecServer runs argv in the running server container, never with a TTY.
func (i *Install) ExecServer(timeout time.Duration, env []string, argv ...string) proc.Cmd {
	return i.exec(timeout, i.Server, env, argv)
}

// ExecDB runs argv in the running db container, never with a TTY (a TTY
// corrupts a piped dump).
func (i *Install) ExecDB(timeout time.Duration, env []string, argv ...string) proc.Cmd {
	return i.exec(timeout, i.DBSvc, env, argv)
}

// ExecContainer runs argv in a running container named by its ID
// (`docker exec -i`, stdin attached, never a TTY). The backup resolves the
// db container's ID once (ContainerID) and asks its many small questions
// this way: one docker call each, instead of a compose process that reads
// the whole project before it can exec.
func (i *Install) ExecContainer(id string, timeout time.Duration, env []string, argv ...string) proc.Cmd {
	args := []string{"docker", "exec", "-i"}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(append(args, id), argv...)
	return proc.Cmd{Argv: args, Timeout: or0(timeout, i.timeouts.Command)}
}

func (i *Install) exec(timeout time.Duration, service string, env, argv []string) proc.Cmd {
	args := []string{"exec", "-T"}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(append(args, service), argv...)
	return i.compose(or0(timeout, i.timeouts.Command), args...)
}

// FlushCache runs `yarn command:prod cache:flush` in a one-off container of
// the server image the .env names now, with migrations disabled so its
// entrypoint runs only the command. The rollback runs it after the restore,
// before the old version is judged: no new-version state stays in Redis.
func (i *Install) FlushCache() proc.Cmd {
	return i.compose(i.timeouts.Command, "run", "--rm", "--no-deps", "-T", "-e", "DISABLE_DB_MIGRATIONS=true",
		"-e", "DISABLE_CRON_JOBS_REGISTRATION=true", i.Server, "yarn", "command:prod", "cache:flush")
}

// Logs is the server log since a time.
func (i *Install) Logs(since time.Time) proc.Cmd {
	return i.compose(i.timeouts.Command, "logs", "--no-color", "--since", since.UTC().Format(time.RFC3339), i.Server)
}

// TagImage points ref at the image id again (the rollback's pin of the old image).
func (i *Install) TagImage(id, ref string) proc.Cmd {
	return proc.Cmd{Argv: []string{"docker", "tag", id, ref}, Timeout: i.timeouts.Command}
}

// VolumeMountpoint asks docker for a volume's host folder.
func (i *Install) VolumeMountpoint(name string) proc.Cmd {
	return proc.Cmd{Argv: []string{"docker", "volume", "inspect", "--format", "{{.Mountpoint}}", name}, Timeout: time.Minute}
}

// Git runs git in the checkout (source mode).
func (i *Install) Git(args ...string) proc.Cmd {
	return proc.Cmd{Argv: append([]string{"git", "-C", i.Dir}, args...), Timeout: i.timeouts.Command}
}

func or0(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// CopyInto copies a host file into a container (a dump for pg_restore -j,
// which needs a seekable file).
func (i *Install) CopyInto(path, containerID, inside string) proc.Cmd {
	return proc.Cmd{Argv: []string{"docker", "cp", path, containerID + ":" + inside}, Timeout: i.timeouts.Restore}
}

// Fetch runs source.fetch in the checkout (before any downtime).
func (i *Install) Fetch(argv []string) proc.Cmd {
	return proc.Cmd{Argv: argv, Dir: i.Dir, Timeout: i.timeouts.Pull}
}

// The one-off container the backup uses to write the uploaded-files volume
// (backup.FilesHelperName): created stopped, the helper copied in with
// `docker cp` (which reads the file on the CLI's side, so it works from a
// systemd unit's private mount namespace, with rootless Docker or a remote
// engine alike), then started attached, its stdin the archive. It has no
// network, only the capabilities a restore of owners and modes needs, and
// the volume mounted without copying the image's content into it. The name
// is fixed per project so a leftover of a crash is removed before the next.

// FilesContainerName is the one-off container's name for this install.
func (i *Install) FilesContainerName() string {
	return "twenty-upgraded-files-" + or(i.Project, "default")
}

// CreateFilesContainer creates it from image (an image ID or a local
// reference: never pulled) with volume at mount, to run entrypoint args.
func (i *Install) CreateFilesContainer(image, volume, mount, entrypoint string, args ...string) proc.Cmd {
	argv := []string{"docker", "create", "--rm", "--interactive", "--name", i.FilesContainerName(),
		"--label", "twenty-upgraded.files=" + or(i.Project, "default"), "--pull", "never", "--network", "none",
		"--user", "0:0", "--log-driver", "none", "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
		"--cap-add", "CHOWN", "--cap-add", "DAC_OVERRIDE", "--cap-add", "FOWNER", "--cap-add", "FSETID",
		"--mount", "type=volume,src=" + volume + ",dst=" + mount + ",volume-nocopy", "--entrypoint", entrypoint, image}
	return proc.Cmd{Argv: append(argv, args...), Timeout: i.timeouts.Command}
}

// StartAttached starts a created container with stdin and output attached
// and waits for it; its exit status is the container's.
func (i *Install) StartAttached(id string, timeout time.Duration) proc.Cmd {
	return proc.Cmd{Argv: []string{"docker", "start", "--attach", "--interactive", id}, Timeout: or0(timeout, i.timeouts.Restore)}
}

// RemoveContainer removes a container, running or not.
func (i *Install) RemoveContainer(id string) proc.Cmd {
	return proc.Cmd{Argv: []string{"docker", "rm", "--force", id}, Timeout: i.timeouts.Command}
}

// ImageID is the ID of a local image (fails when it is not local).
func (i *Install) ImageID(ref string) proc.Cmd {
	return proc.Cmd{Argv: []string{"docker", "image", "inspect", "--format", "{{.Id}}", ref}, Timeout: time.Minute}
}
