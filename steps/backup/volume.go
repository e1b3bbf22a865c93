package backup

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// filesLoc is where the uploaded files live: a host folder (source mode,
// an absolute backup.files), or a Docker volume. A volume's host folder is
// read by the backup (reading Docker's storage is allowed under the unit);
// the restore writes the volume only through a one-off container
// (FilesHelperName), never through that folder.
type filesLoc struct {
	Dir    string // the host folder; for a volume, its mountpoint
	Volume string // the volume's name ("" for a host folder)
	Label  string // what the manifest records as files_source
}

// helperImage picks the image the one-off container runs: the server image
// recorded in the set (the old version's, local since it ran here), else
// the one the compose file names now. Only a local image is used: nothing
// is pulled during a restore.
func (m *Manager) helperImage(ctx context.Context, in *install.Install, man Manifest) (string, error) {
	var candidates []string
	for _, ref := range []string{man.Images[in.Server], man.Images[in.Worker], in.Spec.Image} {
		if ref != "" && !contains(candidates, ref) {
			candidates = append(candidates, ref)
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("no image to run the one-off container in: the set records no server image and the compose file names none")
	}
	var tried []string
	for _, ref := range candidates {
		res, err := m.r.Run(ctx, in.ImageID(ref))
		if err == nil {
			return strings.TrimSpace(string(res.Stdout)), nil
		}
		tried = append(tried, ref)
	}
	return "", fmt.Errorf("none of the images %s is on this machine (a restore pulls nothing): pull or load one of them first", strings.Join(tried, ", "))
}

// runHelper runs the files helper with args in a one-off container of
// image with volume mounted at volumePath, stdin attached. Whatever
// happens, no container is left behind.
func (m *Manager) runHelper(ctx context.Context, in *install.Install, image, volume string, stdin io.Reader, timeout time.Duration, args ...string) error {
	if m.helper == "" {
		return errors.New("the path of this program is unknown, so it cannot be copied into the container: run it by its full path")
	}
	if err := staticBinary(m.helper); err != nil {
		return err
	}
	name := in.FilesContainerName()
	_, _ = m.r.Run(ctx, in.RemoveContainer(name)) // a crashed run's leftover; none is the usual case
	res, err := m.r.Run(ctx, in.CreateFilesContainer(image, volume, volumePath, helperPath, args...))
	if err != nil {
		return fmt.Errorf("create the one-off container: %w", err)
	}
	id := strings.TrimSpace(string(res.Stdout))
	defer func() {
		// --rm removes it once it ran; this is for one that never started.
		_, err := m.r.Run(context.WithoutCancel(ctx), in.RemoveContainer(id))
		var pe *proc.Error
		if err != nil && !(errors.As(err, &pe) && (strings.Contains(pe.Stderr, "No such container") || strings.Contains(pe.Stderr, "already in progress"))) {
			m.log.Warn("could not remove the one-off container", "container", id, "err", err)
		}
	}()
	if _, err := m.r.Run(ctx, in.CopyInto(m.helper, id, helperPath)); err != nil {
		return fmt.Errorf("copy %s into the one-off container: %w", m.helper, err)
	}
	c := in.StartAttached(id, timeout)
	var out bytes.Buffer
	c.Stdin, c.Stdout = stdin, &out
	if _, err := m.r.Run(ctx, c); err != nil {
		var pe *proc.Error
		if errors.As(err, &pe) && (pe.ExitCode == 126 || pe.ExitCode == 127 || strings.Contains(pe.Stderr, "exec format error")) {
			return fmt.Errorf("%s does not run in image %s (it must be the static build, CGO_ENABLED=0, as packaged): %w", m.helper, image, err)
		}
		return err
	}
	m.log.Debug("files helper", "args", args, "output", strings.TrimSpace(out.String()))
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// staticBinary checks the helper needs no dynamic loader: the image the
// one-off container runs may have none (FROM scratch) or another libc
// (Twenty's is Alpine's musl).
func staticBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("the files helper %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked, so it cannot run inside another image to restore the files volume: use the packaged binary, or build it with CGO_ENABLED=0 (make build)", path)
		}
	}
	return nil
}
