package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short stays", "v1.2.3", 80, "v1.2.3"},
		{"exactly n stays", "abcde", 5, "abcde"},
		{"ascii cut at n", "abcdef", 5, "abcde…"},
		{"empty", "", 3, ""},
		{"zero limit", "abc", 0, "…"},
		{"negative limit", "abc", -1, "…"},
		// "é" is two bytes (c3 a9): a byte cut at 2 would keep only c3.
		{"two-byte char across the limit", "aé", 2, "a…"},
		{"two-byte char ends at the limit", "aéb", 3, "aé…"},
		// "日本" is three bytes each: a cut at 4 or 5 lands inside "本".
		{"three-byte char, cut after its first byte", "日本", 4, "日…"},
		{"three-byte char, cut after its second byte", "日本", 5, "日…"},
		{"three-byte char inside the first char", "日本", 2, "…"},
		// "😀" is four bytes.
		{"four-byte char", "x😀y", 4, "x…"},
		{"four-byte char whole", "x😀y", 5, "x😀…"},
		// Not UTF-8 at all: nothing to keep whole, cut the bytes.
		{"stray continuation bytes", "a\x80\x80\x80\x80\x80", 4, "a\x80\x80\x80…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Clip(tc.s, tc.n)
			if got != tc.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
			if utf8.ValidString(tc.s) && !utf8.ValidString(got) {
				t.Errorf("Clip(%q, %d) = %q: cut a character in half", tc.s, tc.n, got)
			}
			if kept := strings.TrimSuffix(got, Ellipsis); len(kept) > max(tc.n, 0) {
				t.Errorf("Clip(%q, %d) kept %d bytes, over the limit", tc.s, tc.n, len(kept))
			}
		})
	}
}

// TestClipNeverSplits tries every limit on a mixed string: each result must
// be valid UTF-8 and a prefix of the input plus, when shorter, the ellipsis.
func TestClipNeverSplits(t *testing.T) {
	s := "Räksmörgås 日本語 😀 ok"
	for n := 0; n <= len(s)+1; n++ {
		got := Clip(s, n)
		if !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q: not valid UTF-8", s, n, got)
		}
		kept, cut := strings.CutSuffix(got, Ellipsis)
		if cut == (n >= len(s)) || !strings.HasPrefix(s, kept) {
			t.Fatalf("Clip(%q, %d) = %q: want a prefix of the input, with the ellipsis only when shortened", s, n, got)
		}
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		n    int
		want string
	}{
		// git status --porcelain, as steps/source_steps.go shows it
		{"folds lines", " M package.json\n?? notes.txt\n", 200, "M package.json ?? notes.txt"},
		// an HTTP body, as the health checks show it
		{"folds tabs and runs", "{\n\t\"status\":  \"ok\"\n}\n", 200, `{ "status": "ok" }`},
		{"clips after folding", "a  b  c  d", 5, "a b c…"},
		{"blank", " \n\t ", 10, ""},
		{"multi-byte char ends at the limit after folding", "x\n\n日本", 5, "x 日…"},
		{"multi-byte char across the limit after folding", "x\n\n日本", 4, "x …"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OneLine(tc.s, tc.n); got != tc.want {
				t.Errorf("OneLine(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
}
