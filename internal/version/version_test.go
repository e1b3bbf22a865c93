package version

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]V{
		"v0.0.1":      {0, 0, 1},
		"v1.22.6":     {1, 22, 6},
		"v2.10.0":     {2, 10, 0},
		"v10.0.999":   {10, 0, 999},
		"v0.53.0":     {0, 53, 0},
		"v999999.0.0": {999999, 0, 0},
	}
	for in, want := range good {
		t.Run(in, func(t *testing.T) {
			got, err := Parse(in)
			if err != nil || got != want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", in, got, err, want)
			}
			if got.String() != in {
				t.Fatalf("String() = %q, want %q", got.String(), in)
			}
		})
	}
	bad := []string{"", "v", "latest", "v2", "v1.7", "1.2.3", "V1.2.3", "v1.2.3-rc1", "v1.2.3+b",
		"v01.2.3", "v1.02.3", "v1.2.03", "v1..3", "v1.2.", "v-1.2.3", "v1.2.3.4", " v1.2.3", "v1.2.3\n",
		"v1.2.3;rm", "v1000000.0.0", "v1.2.x", "v0.0.0", "twenty/v1.2.3", "sdk/v1.2.3", "v１.2.3"}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			if v, err := Parse(in); err == nil || !errors.Is(err, ErrNotVersion) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrNotVersion", in, v, err)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	for in, want := range map[string]string{"twenty/v2.9.1": "v2.9.1", "v1.7.0": "v1.7.0"} {
		v, err := ParseTag(in)
		if err != nil || v.String() != want {
			t.Fatalf("ParseTag(%q) = %v, %v", in, v, err)
		}
	}
	for _, in := range []string{"sdk/v1.0.0", "twenty/latest", "twenty/twenty/v1.0.0", "refs/tags/v1.0.0"} {
		if _, err := ParseTag(in); err == nil {
			t.Fatalf("ParseTag(%q) accepted", in)
		}
	}
}

func TestCompareAndStep(t *testing.T) {
	tests := []struct {
		a, b string
		cmp  int
		step Step
	}{
		{"v1.2.3", "v1.2.3", 0, StepNone},
		{"v1.2.3", "v1.2.4", -1, StepPatch},
		{"v1.2.9", "v1.10.0", -1, StepMinor},
		{"v1.99.9", "v2.0.0", -1, StepMajor},
		{"v2.0.0", "v1.99.9", 1, StepNone},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			if got := a.Compare(b); got != tt.cmp {
				t.Fatalf("Compare = %d, want %d", got, tt.cmp)
			}
			if got := a.StepTo(b); got != tt.step {
				t.Fatalf("StepTo = %v, want %v", got, tt.step)
			}
		})
	}
}

func TestText(t *testing.T) {
	var v V
	if err := v.UnmarshalText([]byte("v1.2.3")); err != nil || v != (V{1, 2, 3}) {
		t.Fatalf("UnmarshalText: %v %v", v, err)
	}
	if err := v.UnmarshalText([]byte("latest")); err == nil {
		t.Fatal("UnmarshalText accepted latest")
	}
	b, _ := V{}.MarshalText()
	if len(b) != 0 {
		t.Fatalf("zero MarshalText = %q", b)
	}
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"v1.2.3", "twenty/v2.9.0", "sdk/v1.0.0", "latest", "v01.2.3", "v1.2.3-rc.1", "v9999999.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTag(s)
		if err != nil {
			return
		}
		// Whatever is accepted must round-trip exactly and be safe in argv and .env.
		out := v.String()
		if out != s && "twenty/"+out != s {
			t.Fatalf("ParseTag(%q) = %q: not a round trip", s, out)
		}
		for _, c := range out {
			if !(c == 'v' || c == '.' || (c >= '0' && c <= '9')) {
				t.Fatalf("accepted unsafe character %q in %q", c, out)
			}
		}
	})
}

func TestConstraint(t *testing.T) {
	tests := []struct {
		c   string
		yes []string
		no  []string
	}{
		{"", []string{"v0.0.1", "v9.9.9"}, nil},
		{">=v1.20.0 <v3.0.0", []string{"v1.20.0", "v2.99.0"}, []string{"v1.19.9", "v3.0.0"}},
		{"<v2.0.0 || >=v2.3.0, !=v2.4.1", []string{"v1.9.0", "v2.3.0", "v2.4.2"}, []string{"v2.1.0", "v2.4.1"}},
		{"=v1.22.6", []string{"v1.22.6"}, []string{"v1.22.5"}},
		{">v1.0.0,<=v1.1.0", []string{"v1.1.0", "v1.0.1"}, []string{"v1.0.0", "v1.1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.c, func(t *testing.T) {
			c, err := ParseConstraint(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			for _, y := range tt.yes {
				if !c.Allows(MustParse(y)) {
					t.Errorf("%q should allow %s", tt.c, y)
				}
			}
			for _, n := range tt.no {
				if c.Allows(MustParse(n)) {
					t.Errorf("%q should refuse %s", tt.c, n)
				}
			}
		})
	}
	for _, bad := range []string{"v1.2.3", ">=1.2.3", "~v1.2.0", ">=v1.2", "<v1.0.0 ||", "=>v1.0.0", ">= v1.0.0"} {
		if _, err := ParseConstraint(bad); err == nil {
			t.Errorf("ParseConstraint(%q) accepted", bad)
		}
	}
}

func TestParseLooseAndAlias(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = error
	}{{"v1.22.4", "v1.22.4"}, {"1.22.4", "v1.22.4"}, {"01.2.3", ""}, {"1.22", ""}, {"latest", ""}, {"v1.2.3-rc1", ""}, {"vv1.2.3", ""}} {
		v, err := ParseLoose(tc.in)
		if got := v.String(); (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("ParseLoose(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in      string
		ok      bool
		covers  string
		notCovs string
	}{
		{"latest", true, "v9.9.9", ""},
		{"v1.22", true, "v1.22.4", "v1.23.0"},
		{"1.22", true, "v1.22.0", "v2.22.0"},
		{"v2", true, "v2.40.1", "v1.40.1"},
		{"v1.22.4", false, "", ""},
		{"v1.x", false, "", ""},
		{"", false, "", ""},
	} {
		a, ok := ParseAlias(tc.in)
		if ok != tc.ok {
			t.Errorf("ParseAlias(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if tc.covers != "" && !a.Covers(MustParse(tc.covers)) {
			t.Errorf("%q does not cover %s", tc.in, tc.covers)
		}
		if tc.notCovs != "" && a.Covers(MustParse(tc.notCovs)) {
			t.Errorf("%q covers %s", tc.in, tc.notCovs)
		}
	}
}
