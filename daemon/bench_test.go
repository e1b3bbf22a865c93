package daemon

import (
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/checker"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/release"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/release/releasetest"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// benchChecker adapts the real checker (as cmd_run does) and counts checks.
type benchChecker struct {
	c     *checker.Checker
	done  atomic.Int64
	reqs  atomic.Int64
	first atomic.Int64
}

func (b *benchChecker) Check(ctx context.Context) (CheckResult, error) {
	res, err := b.c.Check(ctx)
	if b.done.Load() == 0 {
		b.first.Store(int64(res.Requests))
	} else {
		b.reqs.Add(int64(res.Requests))
	}
	b.done.Add(1)
	if err != nil {
		return CheckResult{}, err
	}
	return CheckResult{Plan: res.Plan}, nil
}

// TestIdleBench is `make bench`: a daemon with the real Docker Hub source
// against the bundled feed server, 100 checks of an unchanged feed, then
// idle. It prints RSS, CPU while idle and requests per unchanged check. The
// process is the test binary, so RSS includes the testing package (a few
// hundred KiB); the target is 20 MiB.
func TestIdleBench(t *testing.T) {
	if os.Getenv("TWENTY_UPGRADED_BENCH") == "" {
		t.Skip("benchmark: run with make bench (TWENTY_UPGRADED_BENCH=1)")
	}
	srv := releasetest.Start(t)
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Daemon.StateDir = store.Dir
	cfg.Release = config.Release{Source: "dockerhub", URL: srv.URL, Image: releasetest.Image, CheckInterval: 6 * time.Hour,
		Track: "minor", SequentialBelow: "v1.22.0", MinAge: 48 * time.Hour}
	bc := &benchChecker{}
	bc.c, err = checker.New(cfg, checker.Deps{Store: store, Release: release.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	bc.c.Installed = func(context.Context) (install.Installed, error) { return install.Installed{Version: v1226}, nil }
	d, err := New(cfg, Deps{Store: store, Notifier: &recNotifier{},
		NewChecker: func(config.Config) (Checker, error) { return bc, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = d.Run(ctx, ln) }()
	eventually(t, "the first check", func() bool { return bc.done.Load() == 1 })
	runtime.GC()
	rssStart := rssKiB(t)
	for i := 2; i <= 101; i++ {
		d.CheckNow()
		eventually(t, "a check", func() bool { return bc.done.Load() >= int64(i) })
	}
	runtime.GC()
	rssAfter := rssKiB(t)
	cpu0 := cpuTime()
	idle := 10 * time.Second
	time.Sleep(idle)
	cpuIdle := cpuTime() - cpu0
	perCheck := float64(bc.reqs.Load()) / 100
	t.Logf("bench rss_after_start_mib=%.1f rss_after_100_checks_mib=%.1f", float64(rssStart)/1024, float64(rssAfter)/1024)
	println("bench idle daemon: RSS after start", mib(rssStart), "MiB; after 100 unchanged checks", mib(rssAfter), "MiB (target ≤ 20)")
	println("bench idle daemon: CPU time over", idle.String(), "idle:", cpuIdle.String())
	println("bench requests: first check", bc.first.Load(), "; per unchanged check", strconv.FormatFloat(perCheck, 'f', 2, 64), "(target 1, answered 304)")
	if rssAfter > 20*1024 {
		t.Errorf("RSS %d KiB after 100 checks, over the 20 MiB target", rssAfter)
	}
	if perCheck > 1 {
		t.Errorf("%.2f requests per unchanged check, want 1", perCheck)
	}
}

func mib(kib int64) string { return strconv.FormatFloat(float64(kib)/1024, 'f', 1, 64) }

func rssKiB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status (not Linux?): %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
