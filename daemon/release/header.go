package release

import (
	"strings"
)

// parseLink reads an RFC 8288 Link header ("<url>; rel=\"next\", <url2>;
// rel=\"last\"") into rel → URL. The first link of each rel wins; rel may
// hold several space-separated values. Malformed parts are skipped.
func parseLink(h string) map[string]string {
	out := map[string]string{}
	s := h
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || s[0] != '<' {
			return out
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return out
		}
		target := s[1:end]
		s = s[end+1:]
		params, rest := splitParams(s)
		s = rest
		for _, r := range strings.Fields(strings.ToLower(params["rel"])) {
			if _, dup := out[r]; !dup {
				out[r] = target
			}
		}
	}
}

// splitParams reads ";key=value" parameters up to the next top-level comma
// and returns them with the rest of the header after that comma.
func splitParams(s string) (map[string]string, string) {
	params := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return params, ""
		}
		if s[0] == ',' {
			return params, s[1:]
		}
		if s[0] != ';' {
			// Junk after a link: skip to the next comma.
			i := strings.IndexByte(s, ',')
			if i < 0 {
				return params, ""
			}
			return params, s[i+1:]
		}
		var key, val string
		key, val, s = readParam(s[1:])
		if key != "" {
			if _, dup := params[key]; !dup {
				params[key] = val
			}
		}
	}
}

// readParam reads `key=value` or `key="quoted value"` (or a bare key) and
// returns the lower-cased key, the value and what follows.
func readParam(s string) (key, val, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "=;,")
	if i < 0 {
		return strings.ToLower(strings.TrimSpace(s)), "", ""
	}
	key = strings.ToLower(strings.TrimSpace(s[:i]))
	if s[i] != '=' {
		return key, "", s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		val, rest = readQuoted(s[1:])
		return key, val, rest
	}
	j := strings.IndexAny(s, ";,")
	if j < 0 {
		return key, strings.TrimSpace(s), ""
	}
	return key, strings.TrimSpace(s[:j]), s[j:]
}

// readQuoted reads a quoted-string body (after the opening quote) with
// backslash escapes; an unterminated string runs to the end.
func readQuoted(s string) (val, rest string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// challenge is one parsed WWW-Authenticate challenge.
type challenge struct {
	Scheme string            // lower case: "bearer", "basic"
	Params map[string]string // realm, service, scope, ...
}

// parseChallenge reads the first challenge of a WWW-Authenticate header:
// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`.
// Commas inside quoted values (scope="repository:a:pull,push") are kept.
func parseChallenge(h string) (challenge, bool) {
	h = strings.TrimSpace(h)
	sp := strings.IndexAny(h, " \t")
	if sp <= 0 {
		if !isToken(h) {
			return challenge{}, false
		}
		return challenge{Scheme: strings.ToLower(h), Params: map[string]string{}}, true
	}
	if !isToken(h[:sp]) {
		return challenge{}, false
	}
	c := challenge{Scheme: strings.ToLower(h[:sp]), Params: map[string]string{}}
	s := h[sp+1:]
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return c, true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return c, true
		}
		key := strings.TrimSpace(s[:eq])
		if !isToken(key) {
			// The start of a second challenge ("Basic realm=...") or junk.
			return c, true
		}
		key = strings.ToLower(key)
		var val string
		rest := strings.TrimLeft(s[eq+1:], " \t")
		if strings.HasPrefix(rest, `"`) {
			val, s = readQuoted(rest[1:])
		} else {
			j := strings.IndexByte(rest, ',')
			if j < 0 {
				val, s = strings.TrimSpace(rest), ""
			} else {
				val, s = strings.TrimSpace(rest[:j]), rest[j:]
			}
		}
		if _, dup := c.Params[key]; !dup {
			c.Params[key] = val
		}
	}
}

// isToken reports whether s is an RFC 9110 token (auth schemes, parameter names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
