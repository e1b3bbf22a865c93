package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
)

// StatusError is an HTTP answer the source could not use.
type StatusError struct {
	Source string
	Method string
	URL    string // without credentials
	Status int
	Header http.Header // for challenges; holds no request secrets
	Detail string      // start of the body, for the admin
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: %s %s: %s", e.Source, e.Method, e.URL, statusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (check release.token_file)"
	case http.StatusNotFound:
		msg += " (check release.image, release.github_repo and release.url)"
	}
	return msg
}

// RateLimitError says the server asked us to wait; the check should be
// retried at RetryAt, not before.
type RateLimitError struct {
	Source  string
	URL     string
	Status  int
	RetryAt time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: GET %s: rate limited (%s), retry after %s",
		e.Source, e.URL, statusText(e.Status), e.RetryAt.UTC().Format(time.RFC3339))
}

func statusText(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// response is a fully read answer with a status below 400.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	URL    *url.URL // after redirects
}

// fetcher is the HTTP plumbing every network source shares.
type fetcher struct {
	source string
	opts   Options
}

// kept is what Docker Hub and GitHub keep from their last full walk, for
// conditional requests.
type kept struct {
	releases []Release
	etag     string
	walked   time.Time // zero before the first walk
}

// firstPage asks for page 1 of a listing. While k is younger than
// FullRefresh it asks with If-None-Match; a 304 then returns k's releases
// (hit). fresh says whether k was young, so the caller may trust more of it.
func (f *fetcher) firstPage(ctx context.Context, first string, hdr http.Header, k *kept, now time.Time) (resp *response, fresh bool, hit []Release, err error) {
	fresh = !k.walked.IsZero() && now.Sub(k.walked) < f.opts.FullRefresh
	if fresh && k.etag != "" {
		hdr.Set("If-None-Match", k.etag)
	}
	resp, err = f.get(ctx, first, hdr)
	hdr.Del("If-None-Match") // the other pages are asked for in full
	if err != nil {
		return nil, fresh, nil, err
	}
	if resp.Status == http.StatusNotModified && !k.walked.IsZero() {
		return resp, fresh, append([]Release{}, k.releases...), nil // never nil: a hit
	}
	return resp, fresh, nil, nil
}

// get does an HTTP GET with retries; see do.
func (f *fetcher) get(ctx context.Context, u string, hdr http.Header) (*response, error) {
	return f.do(ctx, http.MethodGet, u, hdr)
}

// do sends one request, retrying network errors, 5xx and 429 (without a
// wait the server named) with exponential backoff and full jitter. Answers
// below 400 are returned; everything else is a *StatusError or a
// *RateLimitError.
func (f *fetcher) do(ctx context.Context, method, u string, hdr http.Header) (*response, error) {
	var lastErr error
	for attempt := 0; attempt <= f.opts.Retries; attempt++ {
		if attempt > 0 {
			if err := f.backoff(ctx, attempt); err != nil {
				return nil, fmt.Errorf("%s: %s %s: %w (after: %w)", f.source, method, redact(u), err, lastErr)
			}
		}
		resp, err := f.once(ctx, method, u, hdr)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retryable(err) || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusTooManyRequests
	}
	var rl *RateLimitError
	return !errors.As(err, &rl)
}

func (f *fetcher) backoff(ctx context.Context, attempt int) error {
	ceiling := f.opts.RetryDelay << min(attempt-1, 10)
	return clock.Sleep(ctx, time.Duration(rand.Int64N(int64(ceiling)+1)))
}

func (f *fetcher) once(ctx context.Context, method, u string, hdr http.Header) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.RequestTimeout)
	defer cancel()
	safe := redact(u)
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: bad request URL %s: %w", f.source, safe, err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	start := time.Now()
	resp, err := f.opts.Client.Do(req)
	info := RequestInfo{Source: f.source, Method: method, URL: safe}
	defer func() {
		if f.opts.OnRequest != nil {
			info.Duration = time.Since(start)
			f.opts.OnRequest(info)
		}
	}()
	if err != nil {
		info.Err = err
		return nil, fmt.Errorf("%s: %s %s: %w", f.source, method, safe, scrubURLError(err))
	}
	defer resp.Body.Close()
	info.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		info.Err = err
		return nil, fmt.Errorf("%s: %s %s: reading body: %w", f.source, method, safe, scrubURLError(err))
	}
	if int64(len(body)) > f.opts.MaxBytes {
		info.Err = errors.New("response too large")
		return nil, fmt.Errorf("%s: %s %s: response is larger than the %d-byte cap", f.source, method, safe, f.opts.MaxBytes)
	}
	if resp.StatusCode < 400 {
		return &response{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: resp.Request.URL}, nil
	}
	if at, ok := rateLimited(resp, f.opts.Now()); ok {
		return nil, &RateLimitError{Source: f.source, URL: safe, Status: resp.StatusCode, RetryAt: at}
	}
	return nil, &StatusError{Source: f.source, Method: method, URL: safe, Status: resp.StatusCode,
		Header: resp.Header.Clone(), Detail: detail(body)}
}

// rateLimited reads Retry-After (seconds or an HTTP date) and GitHub's
// X-RateLimit-Remaining: 0 with X-RateLimit-Reset (Unix seconds) on a 403
// or 429. A 429 without either is retried with backoff instead.
func rateLimited(resp *http.Response, now time.Time) (time.Time, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return time.Time{}, false
	}
	if ra := strings.TrimSpace(resp.Header.Get("Retry-After")); ra != "" {
		if secs, err := strconv.ParseInt(ra, 10, 32); err == nil && secs >= 0 {
			return now.Add(time.Duration(secs) * time.Second), true
		}
		if t, err := http.ParseTime(ra); err == nil {
			return t, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if secs, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil && secs > 0 && secs < 1<<40 {
			return time.Unix(secs, 0), true
		}
		return now.Add(time.Hour), true
	}
	return time.Time{}, false
}

// detail is the first line of an error body, cut short, for the message.
func detail(body []byte) string {
	s := strings.TrimSpace(string(body))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return text.Clip(strings.ToValidUTF8(s, "?"), 200)
}

// redact removes user info and secret-looking query values from a URL so it
// can be logged and put in errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			switch strings.ToLower(k) {
			case "token", "access_token", "password", "secret", "key", "sig", "signature", "x-amz-signature":
				q.Set(k, "REDACTED")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrubURLError unwraps a *url.Error: its URL (maybe a redirect target
// holding a signed query) is not repeated; the caller names the redacted one.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sameHost reports whether next may be followed from base: only the
// configured server is ever asked, so a feed cannot send us elsewhere.
func sameHost(base, next *url.URL) bool {
	return strings.EqualFold(base.Scheme, next.Scheme) && strings.EqualFold(base.Host, next.Host)
}

// resolveNext resolves a "next" link against the page it came from and
// refuses links to another host. A link to publicHost (the real service) is
// rebased onto base when base is a mirror or test server.
func resolveNext(source string, base, page *url.URL, link, publicHost string) (*url.URL, error) {
	ref, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("%s: next link %q is not a URL: %w", source, text.Clip(link, 200), err)
	}
	next := page.ResolveReference(ref)
	if publicHost != "" && strings.EqualFold(next.Host, publicHost) && !strings.EqualFold(base.Host, publicHost) {
		next.Scheme, next.Host = base.Scheme, base.Host
		next.Path = strings.TrimSuffix(base.Path, "/") + next.Path
	}
	if !sameHost(base, next) {
		return nil, fmt.Errorf("%s: next link %s leaves the configured server %s: refused", source, redact(next.String()), base.Host)
	}
	next.User = nil
	return next, nil
}

// pager guards a walk over "next" links, the same for every source: at most
// max pages, every link resolved against the page it came from and kept on
// the configured server (resolveNext), and no page twice (a feed that
// loops is refused, not followed forever).
type pager struct {
	source, what, publicHost string
	base, at                 *url.URL
	max, pages               int
	seen                     map[string]bool
}

// newPager starts a walk at page 1 (first); what names the items ("tags").
func (f *fetcher) newPager(base, first *url.URL, what, publicHost string) *pager {
	return &pager{source: f.source, what: what, publicHost: publicHost, base: base, at: first,
		max: f.opts.MaxPages, pages: 1, seen: map[string]bool{first.String(): true}}
}

// next checks link, found on the current page, and moves to it.
func (p *pager) next(link string) (*url.URL, error) {
	if p.pages >= p.max {
		return nil, fmt.Errorf("%s: more than %d pages of %s: refusing to go on", p.source, p.max, p.what)
	}
	next, err := resolveNext(p.source, p.base, p.at, link, p.publicHost)
	if err != nil {
		return nil, err
	}
	if p.seen[next.String()] {
		return nil, fmt.Errorf("%s: next link %s was already visited: the feed loops", p.source, redact(next.String()))
	}
	p.seen[next.String()] = true
	p.pages++
	p.at = next
	return next, nil
}
