// Package testreq is how a test says that something it needs is missing.
//
// Outside CI the test is skipped, with the reason, so a developer without
// Docker or PostgreSQL can still run the rest. Under CI=true (what .ci/run
// and most CI systems set) the test fails instead: a CI machine that lost its
// Docker engine must not print "all passed".
package testreq

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI=true.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with why, or fails it under CI=true.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("missing under CI=true (a skip would hide it): %s", why)
		return
	}
	t.Skip("skipped: " + why)
}

// Scale is the factor for every wait a test sizes by the clock:
// TEST_TIMEOUT_SCALE when set (a float, e.g. 2.5), else 2 under CI=true and
// 1 otherwise. A busy machine needs longer deadlines, never shorter ones.
func Scale() float64 {
	if s := os.Getenv("TEST_TIMEOUT_SCALE"); s != "" {
		var f float64
		if _, err := fmt.Sscan(s, &f); err == nil && f >= 1 {
			return f
		}
	}
	if InCI() {
		return 2
	}
	return 1
}

// Timeout scales d by Scale.
func Timeout(d time.Duration) time.Duration { return time.Duration(float64(d) * Scale()) }
