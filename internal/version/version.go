// Package version parses and orders Twenty release versions.
//
// Twenty tags releases as strict vMAJOR.MINOR.PATCH (GitHub also uses the prefix
// "twenty/" since about v2.9). Tags end up in shell-free argv lists and in
// .env files, so this package is the gate: nothing that is not exactly a
// version gets past Parse. Aliases such as "latest", "v2" or "v1.7" and any
// pre-release or build suffix are rejected.
package version

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// V is a release version. The zero value means "unknown".
type V struct {
	Major, Minor, Patch int
}

// maxComponent bounds each number so that no tag can overflow arithmetic or
// produce absurd strings; Twenty's numbers are far below it.
const maxComponent = 1_000_000

// ErrNotVersion is wrapped by every parse failure.
var ErrNotVersion = errors.New("not a release version (want vMAJOR.MINOR.PATCH)")

// Parse accepts exactly "vMAJOR.MINOR.PATCH" with decimal numbers without
// leading zeros (except "0" itself).
func Parse(s string) (V, error) {
	rest, ok := strings.CutPrefix(s, "v")
	if !ok {
		return V{}, fmt.Errorf("%q: %w", s, ErrNotVersion)
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return V{}, fmt.Errorf("%q: %w", s, ErrNotVersion)
	}
	var n [3]int
	for i, p := range parts {
		v, err := component(p)
		if err != nil {
			return V{}, fmt.Errorf("%q: %w", s, ErrNotVersion)
		}
		n[i] = v
	}
	if n == [3]int{} {
		// v0.0.0 is no release, and it would be the zero value ("unknown").
		return V{}, fmt.Errorf("%q: %w", s, ErrNotVersion)
	}
	return V{n[0], n[1], n[2]}, nil
}

// ParseTag accepts a release tag as published: "vX.Y.Z" or "twenty/vX.Y.Z"
// (GitHub's prefix since about v2.9). Everything else, including "sdk/vX.Y.Z",
// is rejected.
func ParseTag(tag string) (V, error) {
	return Parse(strings.TrimPrefix(tag, "twenty/"))
}

func component(p string) (int, error) {
	if p == "" || len(p) > 7 {
		return 0, ErrNotVersion
	}
	if len(p) > 1 && p[0] == '0' {
		return 0, ErrNotVersion
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, ErrNotVersion
		}
	}
	v, err := strconv.Atoi(p)
	if err != nil || v >= maxComponent {
		return 0, ErrNotVersion
	}
	return v, nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) V {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String returns "vX.Y.Z", or "" for the zero value.
func (v V) String() string {
	if v.IsZero() {
		return ""
	}
	return "v" + strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
}

// IsZero reports whether v is the unknown version.
func (v V) IsZero() bool { return v == V{} }

// Compare returns -1, 0 or +1.
func (v V) Compare(o V) int {
	switch {
	case v.Major != o.Major:
		return cmp(v.Major, o.Major)
	case v.Minor != o.Minor:
		return cmp(v.Minor, o.Minor)
	default:
		return cmp(v.Patch, o.Patch)
	}
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Less reports v < o.
func (v V) Less(o V) bool { return v.Compare(o) < 0 }

// SameMinor reports whether v and o share major and minor.
func (v V) SameMinor(o V) bool { return v.Major == o.Major && v.Minor == o.Minor }

// Step is the size of a move from one version to a higher one.
type Step int

// Steps in increasing size. Their String forms are the values of release.track.
const (
	StepNone Step = iota
	StepPatch
	StepMinor
	StepMajor
)

func (s Step) String() string {
	switch s {
	case StepPatch:
		return "patch"
	case StepMinor:
		return "minor"
	case StepMajor:
		return "major"
	}
	return "none"
}

// ParseStep reads a track value: "patch", "minor" or "major".
func ParseStep(s string) (Step, error) {
	switch s {
	case "patch":
		return StepPatch, nil
	case "minor":
		return StepMinor, nil
	case "major":
		return StepMajor, nil
	}
	return StepNone, fmt.Errorf("%q is not a track (want patch, minor or major)", s)
}

// StepTo is the size of the move from v to o (StepNone when o <= v).
func (v V) StepTo(o V) Step {
	switch {
	case !v.Less(o):
		return StepNone
	case o.Major != v.Major:
		return StepMajor
	case o.Minor != v.Minor:
		return StepMinor
	}
	return StepPatch
}

// MarshalText writes "vX.Y.Z" (and "" for the zero value).
func (v V) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText accepts "vX.Y.Z" or "" (the zero value).
func (v *V) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = V{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// ParseLoose accepts a version as Twenty writes it outside tags: "vX.Y.Z" or
// "X.Y.Z" (the image's APP_VERSION, a TAG written without its v). It is as
// strict as Parse about everything else.
func ParseLoose(s string) (V, error) {
	if !strings.HasPrefix(s, "v") {
		if v, err := Parse("v" + s); err == nil {
			return v, nil
		}
	}
	return Parse(s)
}

// Alias is a Docker Hub alias tag: "latest", "vX" or "vX.Y" (with or
// without the v). Twenty's docs suggest aliases such as TAG=v0.53; the
// version an alias stands for is only known from what runs.
type Alias struct {
	Latest       bool
	Major, Minor int
	HasMinor     bool
}

// ParseAlias reads an alias tag; a full version is not an alias.
func ParseAlias(s string) (Alias, bool) {
	if s == "latest" {
		return Alias{Latest: true}, true
	}
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) > 2 {
		return Alias{}, false
	}
	var n [2]int
	for i, p := range parts {
		v, err := component(p)
		if err != nil {
			return Alias{}, false
		}
		n[i] = v
	}
	return Alias{Major: n[0], Minor: n[1], HasMinor: len(parts) == 2}, true
}

// Covers reports whether the alias can stand for v.
func (a Alias) Covers(v V) bool {
	switch {
	case a.Latest:
		return true
	case a.HasMinor:
		return v.Major == a.Major && v.Minor == a.Minor
	}
	return v.Major == a.Major
}
