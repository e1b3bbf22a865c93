package sandbox

import (
	"slices"
	"testing"
	"time"
)

// TestStaleRefsSparesFreshBuilds: a build from other sources made within
// pruneAge belongs to another checkout's run and stays; an old one goes.
func TestStaleRefsSparesFreshBuilds(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 20, 0, 0, time.UTC)
	lines := "" +
		"twentysandbox/twenty:v1.22.0-aaaa\t2026-12-07 09:17:58 +0000 UTC\n" + // fresh, other sources: another run's
		"twentysandbox/twenty:v1.21.0-bbbb\t2026-12-05 08:00:00 +0000 UTC\n" + // two days old: stale
		"twentysandbox/twenty:v1.23.0-cccc\t2026-12-01 08:00:00 +0000 UTC\n" + // old but kept (current sources)
		"twentysandbox/twenty:v1.23.0-cccc-fat\t2026-12-01 08:00:00 +0000 UTC\n" + // fat variant of a kept one
		"twentysandbox/twenty:v1.20.0-dddd-fat\t2026-12-01 08:00:00 +0000 UTC\n" + // fat of a stale one
		"other/image:v1\t2026-01-01 00:00:00 +0000 UTC\n" + // not ours
		"twentysandbox/twenty:v1.19.0-eeee\tyesterday\n" // unparsable date: kept
	keep := map[string]bool{"twentysandbox/twenty:v1.23.0-cccc": true}
	got := staleRefs(lines, keep, now)
	want := []string{"twentysandbox/twenty:v1.21.0-bbbb", "twentysandbox/twenty:v1.20.0-dddd-fat"}
	if !slices.Equal(got, want) {
		t.Errorf("staleRefs = %v, want %v", got, want)
	}
}
