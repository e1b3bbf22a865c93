package testreq

import (
	"testing"
	"time"
)

func TestScale(t *testing.T) {
	for _, c := range []struct {
		ci, scale string
		want      float64
	}{
		{"", "", 1}, {"true", "", 2}, {"", "3", 3}, {"true", "1.5", 1.5}, {"", "0.5", 1}, {"", "x", 1},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv("TEST_TIMEOUT_SCALE", c.scale)
		if got := Scale(); got != c.want {
			t.Errorf("CI=%q TEST_TIMEOUT_SCALE=%q: Scale() = %v, want %v", c.ci, c.scale, got, c.want)
		}
	}
	t.Setenv("CI", "")
	t.Setenv("TEST_TIMEOUT_SCALE", "2")
	if got := Timeout(30 * time.Second); got != time.Minute {
		t.Errorf("Timeout(30s) at scale 2 = %v", got)
	}
}

// fakeTB records what Missing does without ending the real test.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Fatalf(s string, a ...any) { f.fatal = s }
func (f *fakeTB) Skip(a ...any)             { f.skip = a[0].(string) }

func TestMissing(t *testing.T) {
	t.Setenv("CI", "true")
	f := &fakeTB{}
	Missing(f, "docker is not running")
	if f.fatal == "" || f.skip != "" {
		t.Errorf("under CI=true: fatal %q skip %q, want a failure", f.fatal, f.skip)
	}
	t.Setenv("CI", "")
	f = &fakeTB{}
	Missing(f, "docker is not running")
	if f.fatal != "" || f.skip != "skipped: docker is not running" {
		t.Errorf("outside CI: fatal %q skip %q, want a skip with the reason", f.fatal, f.skip)
	}
}
