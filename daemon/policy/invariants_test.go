package policy

import (
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// checkInvariants holds for every plan whatever the input.
func checkInvariants(t *testing.T, cur version.V, plan Plan, p Policy) {
	t.Helper()
	if plan.Path == nil || plan.Held == nil || plan.Warnings == nil {
		t.Fatalf("nil slice in %+v", plan)
	}
	prev := cur
	for _, v := range plan.Path {
		if !prev.Less(v) {
			t.Fatalf("path %v not strictly increasing above current %v", plan.Path, cur)
		}
		prev = v
	}
	if n := len(plan.Path); n > 0 && plan.Target != plan.Path[n-1] || n == 0 && !plan.Target.IsZero() {
		t.Fatalf("target %v is not the last of path %v", plan.Target, plan.Path)
	}
	onPath := map[version.V]bool{}
	for _, v := range plan.Path {
		onPath[v] = true
		if p.Bad[v] != "" || p.Skip[v] || !p.Constraint.Allows(v) || cur.StepTo(v) > p.Track {
			t.Fatalf("path has %v, which policy refuses", v)
		}
	}
	for _, h := range plan.Held {
		if onPath[h.Version] {
			t.Fatalf("%v both on the path and held", h.Version)
		}
		if !cur.Less(h.Version) {
			t.Fatalf("held %v is not newer than current %v", h.Version, cur)
		}
		if h.Code == "" || h.Reason == "" {
			t.Fatalf("held %v without code or reason", h.Version)
		}
		if h.Approvable && plan.Approval == nil {
			t.Fatalf("held %v approvable but approval unlocks nothing", h.Version)
		}
	}
	if a := plan.Approval; a != nil && (!plan.Target.Less(a.Target) || len(a.Path) == 0 || a.Path[len(a.Path)-1] != a.Target) {
		t.Fatalf("approval %+v does not improve on target %v", a, plan.Target)
	}
}
