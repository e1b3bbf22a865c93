package release

import (
	"maps"
	"testing"
)

func TestParseLink(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"github", `<https://api.github.com/repositories/1/releases?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/releases?per_page=100&page=3>; rel="last"`,
			map[string]string{"next": "https://api.github.com/repositories/1/releases?per_page=100&page=2", "last": "https://api.github.com/repositories/1/releases?per_page=100&page=3"}},
		{"distribution relative", `</v2/a/b/tags/list?last=v1.2.0&n=100>; rel="next"`, map[string]string{"next": "/v2/a/b/tags/list?last=v1.2.0&n=100"}},
		{"unquoted and multi rel", `<a,b>;rel=next , <c>; title="x, y"; rel="prev first"`, map[string]string{"next": "a,b", "prev": "c", "first": "c"}},
		{"first wins", `<a>; rel=next, <b>; rel=next`, map[string]string{"next": "a"}},
		{"garbage", `rel="next"`, map[string]string{}},
		{"unterminated", `<a; rel=next`, map[string]string{}},
		{"empty", ``, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseLink(tt.in); !maps.Equal(got, tt.want) {
				t.Fatalf("parseLink(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name, in string
		scheme   string
		params   map[string]string
		ok       bool
	}{
		{"docker hub", `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:twentycrm/twenty:pull"`,
			"bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:twentycrm/twenty:pull"}, true},
		{"comma in scope", `Bearer realm="r",scope="repository:a/b:pull,push"`, "bearer", map[string]string{"realm": "r", "scope": "repository:a/b:pull,push"}, true},
		{"basic", `Basic realm="Registry Realm"`, "basic", map[string]string{"realm": "Registry Realm"}, true},
		{"escaped quote, spaces", `bearer  realm = "a\"b" , service=svc`, "bearer", map[string]string{"realm": `a"b`, "service": "svc"}, true},
		{"second challenge ignored", `Bearer realm="r", Basic realm="x"`, "bearer", map[string]string{"realm": "r"}, true},
		{"scheme only", `Negotiate`, "negotiate", map[string]string{}, true},
		{"empty", ``, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := parseChallenge(tt.in)
			if ok != tt.ok || c.Scheme != tt.scheme || (ok && !maps.Equal(c.Params, tt.params)) {
				t.Fatalf("parseChallenge(%q) = %+v, %v", tt.in, c, ok)
			}
		})
	}
}
