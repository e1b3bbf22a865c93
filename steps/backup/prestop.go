package backup

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// beforeStop is what CheckSpace (the preflight, while Twenty still serves)
// learnt that stopping server and worker cannot change, so that Create,
// inside the downtime, does not ask it again: the db container's ID and
// the size estimate (the free space is read again: a stat of the folder).
type beforeStop struct {
	key       string    // the install and database they were read for
	at        time.Time // when
	container string    // compose mode: the db container's ID
	estimated bool
	estimate  int64 // bytes: the databases as PostgreSQL reports them plus the uploaded files
}

// beforeStopTTL bounds how old those facts may be. A recreated db
// container is noticed anyway (first), and the estimate is doubled for the
// space check; this only keeps a daemon from trusting a day-old estimate.
const beforeStopTTL = time.Hour

func (m *Manager) factsKey(in *install.Install) string {
	return strings.Join([]string{string(in.Mode), in.Dir, in.Project, in.DBSvc, m.cfg.Backup.Database, m.cfg.Backup.DatabaseURL}, "\x00")
}

// cached returns the facts for in when they are recent.
func (m *Manager) cached(in *install.Install) (beforeStop, bool) {
	m.factsMu.Lock()
	defer m.factsMu.Unlock()
	f := m.facts
	if f.key != m.factsKey(in) || m.now().Sub(f.at) > beforeStopTTL || m.now().Before(f.at) {
		return beforeStop{}, false
	}
	return f, true
}

// remember updates the facts for in (starting afresh for another install
// or when they are stale).
func (m *Manager) remember(in *install.Install, update func(*beforeStop)) {
	m.factsMu.Lock()
	defer m.factsMu.Unlock()
	key := m.factsKey(in)
	if m.facts.key != key || m.now().Sub(m.facts.at) > beforeStopTTL {
		m.facts = beforeStop{key: key, at: m.now()}
	}
	update(&m.facts)
}

// pgFor is the database client for in, with the db container's ID from
// before the stop when known, else resolved now (one `compose ps -q`).
func (m *Manager) pgFor(ctx context.Context, in *install.Install, timeout time.Duration) (pg, error) {
	p, err := m.pgClient(in, timeout)
	if err != nil || p.in == nil {
		return p, err
	}
	if f, ok := m.cached(in); ok && f.container != "" {
		p.container = f.container
		return p, nil
	}
	return m.resolveContainer(ctx, p)
}

// resolveContainer asks compose for the db container's ID. None (the
// service is not running) leaves the commands going through compose,
// whose error names the service.
func (m *Manager) resolveContainer(ctx context.Context, p pg) (pg, error) {
	id, err := p.in.ContainerID(ctx, p.in.DBSvc)
	if err != nil {
		return p, err
	}
	p.container = id
	m.remember(p.in, func(f *beforeStop) {
		f.container = id
	})
	return p, nil
}

// first runs fn, the first database command of a backup or restore. When
// the db container's ID it used is gone (the container was recreated since
// it was read), it reads the ID again and runs fn once more.
func (m *Manager) first(ctx context.Context, p pg, fn func(pg) error) (pg, error) {
	err := fn(p)
	if err == nil || p.container == "" || !staleContainer(err) {
		return p, err
	}
	m.log.Info("the db container changed since its ID was read; reading it again", "id", p.container)
	if p, err = m.resolveContainer(ctx, p); err != nil {
		return p, err
	}
	return p, fn(p)
}

// staleContainer says whether err is docker's answer for an exec in a
// container that no longer exists or no longer runs.
func staleContainer(err error) bool {
	var pe *proc.Error
	if !errors.As(err, &pe) {
		return false
	}
	s := strings.ToLower(pe.Stderr)
	return strings.Contains(s, "no such container") || strings.Contains(s, "is not running")
}

// prepare reads, before the stop, what Create would otherwise ask inside
// the downtime: the db container's ID, then the size estimate, which it
// returns.
func (m *Manager) prepare(ctx context.Context, in *install.Install) (int64, error) {
	p, err := m.pgClient(in, m.cfg.Timeouts.Command)
	if err != nil {
		return 0, err
	}
	if p.in != nil { // read afresh: this runs before the stop
		if p, err = m.resolveContainer(ctx, p); err != nil {
			return 0, err
		}
	}
	est, err := m.estimateWith(ctx, in, p)
	if err != nil {
		return 0, err
	}
	m.remember(in, func(f *beforeStop) { f.estimated, f.estimate = true, est })
	return est, nil
}

// group runs functions side by side. The first error cancels the context
// of the others; Wait returns it (the others' are usually that cancel).
type group struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	cancel context.CancelFunc
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
			g.cancel()
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
