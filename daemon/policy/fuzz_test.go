package policy

import (
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// FuzzMake feeds random release lists and policies to Make and checks the
// invariants every plan must keep (checkInvariants).
//
// The input bytes are read in groups of four per candidate: major (0-3),
// minor (0-15), patch (0-7), and an age byte (0 = unknown time, otherwise
// hours ago, 255 = in the future). Flags pick track, floor, skip, bad and
// constraint so that every rule is reached.
func FuzzMake(f *testing.F) {
	f.Add(byte(1), byte(19), byte(0), byte(2), byte(22), []byte{1, 20, 3, 100, 1, 21, 2, 100, 1, 22, 6, 1, 2, 0, 0, 0})
	f.Add(byte(0), byte(60), byte(2), byte(3), byte(0), []byte{0, 60, 3, 90, 1, 0, 1, 90, 1, 1, 0, 255})
	f.Add(byte(1), byte(20), byte(1), byte(0x1f), byte(22), []byte{1, 20, 2, 1, 1, 21, 0, 80, 1, 21, 4, 80, 2, 3, 0, 80})
	f.Fuzz(func(t *testing.T, curMajor, curMinor, curPatch, flags, floorMinor byte, data []byte) {
		cur := version.V{Major: int(curMajor % 4), Minor: int(curMinor % 16), Patch: int(curPatch % 8)}
		var cands []Candidate
		for i := 0; i+3 < len(data) && len(cands) < 64; i += 4 {
			c := Candidate{Version: version.V{Major: int(data[i] % 4), Minor: int(data[i+1] % 16), Patch: int(data[i+2] % 8)}}
			switch age := data[i+3]; age {
			case 0:
			case 255:
				c.Published = now.Add(time.Hour)
			default:
				c.Published = now.Add(-time.Duration(age) * time.Hour)
			}
			cands = append(cands, c)
		}
		p := Policy{Track: version.Step(flags % 4), MinAge: 48 * time.Hour,
			Skip: map[version.V]bool{}, Bad: map[version.V]string{}}
		if flags&4 != 0 {
			p.SequentialBelow = version.V{Major: 1, Minor: int(floorMinor % 16)}
		}
		for i, c := range cands {
			if flags&8 != 0 && i%5 == 1 {
				p.Skip[c.Version] = true
			}
			if flags&16 != 0 && i%7 == 2 {
				p.Bad[c.Version] = "failed"
			}
		}
		if flags&32 != 0 {
			p.Constraint, _ = version.ParseConstraint("<v1.5.0 || >=v1.8.0 <v3.0.0")
		}
		if flags&64 != 0 {
			p.Upto = version.V{Major: 1, Minor: int(floorMinor % 16), Patch: 3}
		}
		plan := Make(cur, cands, p, now)
		checkInvariants(t, cur, plan, p)
		checkSequential(t, cur, cands, plan, p)
		for _, v := range plan.Path {
			for _, c := range cands {
				if c.Version == v && !c.Published.IsZero() && now.Sub(c.Published) < p.MinAge {
					t.Fatalf("path has %v, published %v ago, under min_age", v, now.Sub(c.Published))
				}
			}
			if !p.Upto.IsZero() && p.Upto.Less(v) {
				t.Fatalf("path has %v, above the requested %v", v, p.Upto)
			}
		}
	})
}

// checkSequential: below the floor, no hop passes over a minor that has a
// release (only minors missing from the source may be passed over).
func checkSequential(t *testing.T, cur version.V, cands []Candidate, plan Plan, p Policy) {
	t.Helper()
	if p.SequentialBelow.IsZero() {
		return
	}
	prev := cur
	for _, hop := range plan.Path {
		if !prev.Less(p.SequentialBelow) {
			break
		}
		for _, c := range cands {
			if m := minorOf(c.Version); minorOf(prev).less(m) && m.less(minorOf(hop)) {
				t.Fatalf("hop %v → %v passes over %v, which has release %v", prev, hop, m, c.Version)
			}
		}
		prev = hop
	}
}

// BenchmarkMake plans over a Docker Hub-sized tag list: 3 majors × 40
// minors × 8 patches, from below the sequential floor.
func BenchmarkMake(b *testing.B) {
	var cands []Candidate
	for maj := range 3 {
		for mi := range 40 {
			for pa := range 8 {
				cands = append(cands, Candidate{Version: version.V{Major: maj, Minor: mi, Patch: pa}, Published: now.Add(-time.Duration(100-mi) * 24 * time.Hour)})
			}
		}
	}
	p := Policy{Track: version.StepMinor, MinAge: 48 * time.Hour, SequentialBelow: version.MustParse("v1.22.0")}
	cur := version.MustParse("v0.30.0")
	for b.Loop() {
		Make(cur, cands, p, now)
	}
}
