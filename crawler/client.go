// Package crawler speaks the Hugging Face Hub's API and walks model families
// from their base models down to every descendant, writing what it finds to
// a Sink as each page arrives.
//
// The HTTP stack, outermost first: colly schedules the requests (parallelism
// and delay per host) and hands responses to callbacks; go-retryablehttp, as
// colly's transport, retries transient failures with capped, jittered
// backoff; below it the token is attached, only for the configured endpoint.
package crawler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is hflineage's version: sent in the User-Agent, printed by
// `hflineage version`. Release builds set it with
// -ldflags "-X github.com/hflineage/hflineage/crawler.Version=1.2.3";
// otherwise it is the module version `go install …@vX` records, else
// the development version with the VCS revision the build info carries.
var Version = ""

const devVersion = "0.3.0-dev"

func init() {
	if Version != "" {
		return
	}
	Version = devVersion
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		Version = strings.TrimPrefix(v, "v")
		return
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			Version = devVersion + "+" + s.Value[:12]
		}
	}
}

func userAgent() string {
	return fmt.Sprintf("hflineage/%s (+https://github.com/hflineage/hflineage; %s)", Version, runtime.Version())
}

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// Config says where and how to talk to the Hub.
type Config struct {
	// Endpoint is the Hub's base URL; empty means $HF_ENDPOINT, else DefaultEndpoint.
	Endpoint string
	// Token authenticates as Authorization: Bearer; it is only ever sent to Endpoint.
	Token string
	// Parallel is the number of requests in flight at once (default 4).
	Parallel int
	// Delay is the pause after each request in a parallel slot.
	Delay time.Duration
	// PageSize is the limit asked for per listing page (default 1000).
	PageSize int
	// HubSize is the number of models the planner takes the Hub to hold
	// until a scan has counted them (default PublishedHubSize).
	HubSize int
	// MaxRetries is how often a failing request is retried (default 5).
	MaxRetries int
	// MaxWait caps any single wait between retries (default 60 s), whatever
	// Retry-After or RateLimit say.
	MaxWait time.Duration
	// MinWait is the first backoff (default 1 s; tests set it lower).
	MinWait time.Duration
	// MaxBodySize bounds one response body (default 64 MiB).
	MaxBodySize int
	// Rate caps the request rate. Without it the pace is the Hub's quota as
	// its RateLimit headers announce it, and unbounded (but for Parallel)
	// when the Hub sends none.
	Rate *Rate
	// AttemptTimeout bounds one attempt of one request, reading the whole
	// answer included (default 2 minutes); an attempt that runs out is
	// retried like a dropped connection.
	AttemptTimeout time.Duration
	// StallTimeout ends an attempt during which the Hub sends no byte for
	// this long, waiting for the headers included (default 30 s; the Hub's
	// own client uses 10 s): it is retried like a dropped connection, at
	// once rather than at AttemptTimeout. Negative: no stall timeout.
	StallTimeout time.Duration
	// DialContext, if set, opens the connections to the Hub in place of a
	// net.Dialer (tests: a host that does not resolve, without DNS).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// EndpointFromEnv returns $HF_ENDPOINT or DefaultEndpoint.
func EndpointFromEnv() string {
	if e := os.Getenv("HF_ENDPOINT"); e != "" {
		return e
	}
	return DefaultEndpoint
}

// TokenFromEnv returns $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the
// token `hf auth login` stored in TokenPath's file (whitespace trimmed),
// else "".
func TokenFromEnv() string {
	if t := os.Getenv("HF_TOKEN"); t != "" {
		return t
	}
	if t := os.Getenv("HUGGING_FACE_HUB_TOKEN"); t != "" {
		return t
	}
	return tokenFromFile()
}

func (c Config) withDefaults() (Config, *url.URL, error) {
	if c.Endpoint == "" {
		c.Endpoint = EndpointFromEnv()
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, nil, fmt.Errorf("invalid endpoint %q: want http(s)://host[:port]", c.Endpoint)
	}
	if c.Parallel <= 0 {
		c.Parallel = 4
	}
	if c.PageSize <= 0 {
		c.PageSize = 1000
	}
	if c.HubSize <= 0 {
		c.HubSize = PublishedHubSize
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 60 * time.Second
	}
	if c.MinWait <= 0 {
		c.MinWait = time.Second
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = 64 << 20
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = 2 * time.Minute
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.Token != "" && fileTokenOnly(c.Token) && u.Scheme != "https" && !isLoopback(u.Hostname()) {
		// The token `hf auth login` stored, which the user did not hand to
		// this run, goes only where a login is meant to: over https, or to a
		// mirror on this machine — never in clear text across a network.
		c.Token = ""
	}
	return c, u, nil
}

// fileTokenOnly reports whether token is the one in TokenPath's file and
// no environment variable gave one (TokenFromEnv's last resort).
func fileTokenOnly(token string) bool {
	return os.Getenv("HF_TOKEN") == "" && os.Getenv("HUGGING_FACE_HUB_TOKEN") == "" && token == tokenFromFile()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultStallTimeout is how long an attempt may receive nothing before it
// is abandoned and retried.
const DefaultStallTimeout = 30 * time.Second

// sameOrigin reports whether u is on the endpoint's scheme, host and port.
func sameOrigin(u, endpoint *url.URL) bool {
	return strings.EqualFold(u.Scheme, endpoint.Scheme) && strings.EqualFold(hostPort(u), hostPort(endpoint))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Hostname() + ":443"
	case "http":
		return u.Hostname() + ":80"
	}
	return u.Host
}

// authTransport attaches the token to requests for the endpoint's origin and
// to no other, and counts requests at the wire: every time a request's
// headers are written to a connection, the Go transport's silent retries on
// reused connections included.
type authTransport struct {
	endpoint *url.URL
	token    string
	next     http.RoundTripper
	requests *atomic.Int64
	tooMany  *atomic.Int64 // 429 answers
	contact  *firstContact // told of every answer (nil: not watched)
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{WroteHeaders: func() { t.requests.Add(1) }}
	req = req.Clone(httptrace.WithClientTrace(req.Context(), trace))
	req.Header.Del("Authorization")
	if t.token != "" && sameOrigin(req.URL, t.endpoint) {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && t.contact != nil {
		t.contact.answered.Store(true)
	}
	if err == nil && resp.StatusCode == http.StatusTooManyRequests && t.tooMany != nil {
		t.tooMany.Add(1)
	}
	return resp, err
}

// hubClient is the one HTTP stack a Walker sends every request through (the
// planner's, the walk's and the scan's), so that they share the pacer and
// the request count.
type hubClient struct {
	transport                  http.RoundTripper
	pace                       *pacer
	requests, tooMany, retries atomic.Int64
	contact                    *firstContact
}

func newHubClient(cfg Config, endpoint *url.URL) *hubClient {
	h := &hubClient{contact: &firstContact{endpoint: endpoint.Redacted()}}
	h.transport, h.pace = newTransport(cfg, endpoint, &h.requests, &h.tooMany, &h.retries, h.contact)
	return h
}

// newTransport builds the retrying, paced transport that colly uses. With
// contact, failures to connect before the Hub has ever answered end in an
// *UnreachableError after a few quick attempts (see firstContact).
func newTransport(cfg Config, endpoint *url.URL, requests, tooMany, retries *atomic.Int64, contact *firstContact) (http.RoundTripper, *pacer) {
	dial := cfg.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if contact != nil {
		dial = contact.dial(dial)
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		MaxIdleConnsPerHost:   cfg.Parallel * 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 120 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	pace := newPacer(cfg.Rate, cfg.Parallel, cfg.AttemptTimeout, cfg.MaxBodySize, &authTransport{endpoint: endpoint, token: cfg.Token, next: base, requests: requests, tooMany: tooMany, contact: contact})
	pace.stall = max(cfg.StallTimeout, 0)
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport: pace,
		// Redirects are the outer (colly's) client's business.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc.Logger = nil
	rc.RetryMax = cfg.MaxRetries
	rc.RetryWaitMin = cfg.MinWait
	rc.RetryWaitMax = cfg.MaxWait
	rc.CheckRetry = retryPolicy
	rc.Backoff = backoff(cfg.MaxWait, pace)
	if contact != nil {
		rc.CheckRetry = contact.retryPolicy
		rc.Backoff = contact.backoff(rc.Backoff)
	}
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
		if attempt > 0 && retries != nil {
			retries.Add(1)
		}
	}
	return &retryablehttp.RoundTripper{Client: rc}, pace
}

// retryPolicy retries what the Hub's own client retries: 408, 429, 5xx
// (but 501) and network errors; never after the context ends.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err == nil && resp.StatusCode == http.StatusRequestTimeout {
		return true, nil
	}
	retry, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	return retry, nil
}

// backoff waits between attempts. A 429 that carries RateLimit waits only
// briefly here: the pacer below holds the retry until the window resets.
// Otherwise a 429 or 503 waits as Retry-After asks; anything else backs off
// exponentially with jitter. Every wait is at least min and at most
// maxWait and the rate-limit window, whatever the server says.
func backoff(maxWait time.Duration, pace *pacer) retryablehttp.Backoff {
	return func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		window := DefaultWindow
		if pace != nil {
			window = pace.windowLength()
		}
		limit := min(maxWait, window)
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			if _, ok := ParseRateLimit(resp.Header.Get("RateLimit")); ok {
				return lo
			}
		}
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if d, ok := retryAfter(resp.Header, window); ok {
				return max(lo, min(d, limit))
			}
		}
		exp := min(float64(lo)*math.Pow(2, float64(attempt)), float64(hi))
		// Half fixed, half jitter, so waits still grow.
		return max(lo, min(time.Duration(exp/2+rand.Float64()*exp/2), limit))
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), clamped to the
// window: a negative, absurd or unparsable value waits the window.
func retryAfter(h http.Header, window time.Duration) (time.Duration, bool) {
	ra := strings.TrimSpace(h.Get("Retry-After"))
	if ra == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(ra, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || s < 0 || s > int64(window/time.Second) {
			return window, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(ra); err == nil {
		return clampWait(time.Until(t), window), true
	}
	return window, true
}

// RateLimit is the Hub's `RateLimit: "bucket";r=R;t=T` header.
type RateLimit struct {
	Bucket    string
	Remaining int
	Reset     int // seconds until the window resets
}

// ParseRateLimit parses a RateLimit header (IETF draft v9 as the Hub sends
// it). Values that overflow are read as math.MaxInt32; a negative r is 0 and
// a negative t is -1 (the caller clamps waits to the window).
func ParseRateLimit(h string) (RateLimit, bool) {
	var rl RateLimit
	h = strings.TrimSpace(h)
	if h == "" {
		return rl, false
	}
	parts := strings.Split(h, ";")
	rl.Bucket = strings.Trim(strings.TrimSpace(parts[0]), `"`)
	gotR, gotT := false, false
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange):
			n = maxSeconds
			if strings.HasPrefix(strings.TrimSpace(v), "-") {
				n = -1
			}
		case err != nil:
			return RateLimit{}, false
		case n > maxSeconds:
			n = maxSeconds
		case n < 0:
			n = -1
		}
		switch strings.TrimSpace(k) {
		case "r":
			rl.Remaining, gotR = int(max(n, 0)), true
		case "t":
			rl.Reset, gotT = int(n), true
		}
	}
	return rl, gotR && gotT
}

// HTTPError is a final, non-success answer from the Hub.
type HTTPError struct {
	URL     string
	Status  int
	Code    string // X-Error-Code
	Message string // X-Error-Message
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.URL, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// ErrNotFound: the Hub does not know the model (or it is private, or gated
// and not visible with these credentials: the Hub answers these alike).
var ErrNotFound = errors.New("model not found on the Hub")

// ErrUnreachable: the Hub's endpoint could not be reached at all (its name
// does not resolve, the connection is refused, TLS fails) before it ever
// answered; the error is an *UnreachableError naming the endpoint.
var ErrUnreachable = errors.New("cannot reach the Hub")

// ErrBadToken: the Hub rejected the token.
var ErrBadToken = errors.New("the Hub rejected the token (HF_TOKEN, or the file of hf auth login)")
