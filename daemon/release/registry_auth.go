package release

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
)

// registryAuth answers a registry's challenges. With no token it asks the
// token service anonymously (public repositories); a token "user:secret" is
// sent as Basic credentials to the token service (or to a registry that
// challenges with Basic); any other token is used directly as the bearer
// token. A loopback registry without auth costs no extra request.
type registryAuth struct {
	f     *fetcher
	base  *url.URL
	name  string
	user  string
	pass  string
	fixed string // a bearer token given as is

	mu      sync.Mutex
	header  string // Authorization value to send, "" = none yet
	expires time.Time
}

func newRegistryAuth(f *fetcher, base *url.URL, name, token string) *registryAuth {
	a := &registryAuth{f: f, base: base, name: name}
	if user, pass, ok := strings.Cut(token, ":"); ok {
		a.user, a.pass = user, pass
	} else if token != "" {
		a.fixed = token
		a.header = "Bearer " + token
	}
	return a
}

func (a *registryAuth) current() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.header != "" && !a.expires.IsZero() && a.f.opts.Now().After(a.expires) {
		a.header = ""
	}
	return a.header
}

// get does a GET with the current credentials, answering one 401
// challenge and retrying once with what it asked for.
func (a *registryAuth) get(ctx context.Context, u string, hdr http.Header) (*response, error) {
	h := hdr.Clone()
	sent := a.current()
	if sent != "" {
		h.Set("Authorization", sent)
	}
	resp, err := a.f.get(ctx, u, h)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		return resp, err
	}
	ch, ok := parseChallenge(se.Header.Get("WWW-Authenticate"))
	if !ok {
		return nil, fmt.Errorf("%w (and no WWW-Authenticate challenge to answer)", err)
	}
	value, err := a.answer(ctx, ch, sent)
	if err != nil {
		return nil, err
	}
	h.Set("Authorization", value)
	resp, err = a.f.get(ctx, u, h)
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: the registry refused the credentials it asked for", err)
	}
	return resp, err
}

// answer returns the Authorization value for a challenge.
func (a *registryAuth) answer(ctx context.Context, ch challenge, sent string) (string, error) {
	switch ch.Scheme {
	case "basic":
		if a.user == "" {
			return "", errors.New("registry: the registry wants Basic auth: put \"user:password\" in release.token_file")
		}
		v := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.pass))
		a.mu.Lock()
		a.header, a.expires = v, time.Time{}
		a.mu.Unlock()
		return v, nil
	case "bearer":
		if a.fixed != "" && sent != "" {
			return "", errors.New("registry: the registry refused the bearer token in release.token_file")
		}
		return a.fetchToken(ctx, ch)
	}
	return "", fmt.Errorf("registry: unsupported auth scheme %q in the registry's challenge", ch.Scheme)
}

// fetchToken asks the token service named by the challenge's realm.
func (a *registryAuth) fetchToken(ctx context.Context, ch challenge) (string, error) {
	realm, err := url.Parse(ch.Params["realm"])
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") || realm.Host == "" {
		return "", fmt.Errorf("registry: the challenge's realm %q is not an http(s) URL", text.Clip(ch.Params["realm"], 200))
	}
	if a.user != "" && realm.Scheme == "http" && !isLoopback(realm.Hostname()) && !sameHost(a.base, realm) {
		return "", fmt.Errorf("registry: refusing to send credentials over plain http to %s", realm.Host)
	}
	q := realm.Query()
	if s := ch.Params["service"]; s != "" {
		q.Set("service", s)
	}
	scope := ch.Params["scope"]
	if scope == "" {
		scope = "repository:" + a.name + ":pull"
	}
	q.Set("scope", scope)
	realm.RawQuery = q.Encode()
	hdr := http.Header{"Accept": {"application/json"}}
	if a.user != "" {
		hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.pass)))
	}
	resp, err := a.f.get(ctx, realm.String(), hdr)
	if err != nil {
		return "", fmt.Errorf("registry: token request: %w", err)
	}
	tok, ttl, err := decodeToken(resp.Body)
	if err != nil {
		return "", fmt.Errorf("registry: token from %s: %w", redact(realm.String()), err)
	}
	v := "Bearer " + tok
	a.mu.Lock()
	defer a.mu.Unlock()
	a.header = v
	// Renew a little early; distribution's default lifetime is 60s or more.
	a.expires = a.f.opts.Now().Add(ttl - ttl/10)
	return v, nil
}

// decodeToken reads a token service answer: {"token": ..., "access_token":
// ..., "expires_in": seconds}.
func decodeToken(body []byte) (string, time.Duration, error) {
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return "", 0, fmt.Errorf("not a token answer: %w", err)
	}
	tok := t.Token
	if tok == "" {
		tok = t.AccessToken
	}
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", 0, errors.New("the answer holds no usable token")
	}
	ttl := 60 * time.Second // the spec's default when expires_in is missing
	if t.ExpiresIn > 0 && t.ExpiresIn < 86400*365 {
		ttl = time.Duration(t.ExpiresIn) * time.Second
	}
	return tok, ttl, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
