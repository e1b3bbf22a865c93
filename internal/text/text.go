// Package text shortens strings for error messages, logs and status lines
// without cutting a UTF-8 character in half.
package text

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks a string that Clip shortened.
const Ellipsis = "…"

// Clip returns s when it is at most n bytes long. Otherwise it returns the
// longest prefix of at most n bytes that ends on a character boundary,
// followed by Ellipsis. The limit counts bytes (it bounds the size of a log
// line), and the ellipsis comes on top of it.
func Clip(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	cut := n
	// s[cut] is the first byte left out; if it continues a character, that
	// character began before cut: step back to its first byte. A UTF-8
	// character is at most utf8.UTFMax bytes, so invalid input (a run of
	// stray continuation bytes) cannot make this walk far.
	for cut > 0 && n-cut < utf8.UTFMax-1 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if !utf8.RuneStart(s[cut]) {
		cut = n // not valid UTF-8 here: a byte cut is all there is
	}
	return s[:cut] + Ellipsis
}

// OneLine folds every run of white space in s (newlines included) into one
// space, trims both ends, and then clips the result to n bytes as Clip does.
func OneLine(s string, n int) string {
	return Clip(strings.Join(strings.Fields(s), " "), n)
}
