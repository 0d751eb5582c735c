package crawler

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// UnreachableError is a crawl's failure to reach the endpoint on its first
// contact: no answer had ever come, and the first few attempts to connect
// failed alike. It wraps ErrUnreachable and the network error.
type UnreachableError struct {
	Endpoint string // the configured endpoint, without credentials
	Cause    string // what failed, in a few words ("no such host", "connection refused")
	Err      error  // the network error
}

func (e *UnreachableError) Error() string {
	return "cannot reach " + e.Endpoint + ": " + e.Cause + " — check the network or HF_ENDPOINT"
}

// Unwrap returns ErrUnreachable and the network error.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// firstContactAttempts is how many attempts to connect, across the
// Walker's requests, fail before the endpoint is taken to be unreachable,
// so long as it has never answered; the waits between them are short
// (firstContactWait, doubling).
const (
	firstContactAttempts = 3
	firstContactWait     = 500 * time.Millisecond
)

// firstContact watches whether the endpoint has ever answered a Walker's
// requests. Until it has, a failure to connect (see unreachableCause) is
// retried only a few times, quickly, and then ends the request with an
// *UnreachableError: a Hub that was never reached is most likely not
// there (offline, a wrong HF_ENDPOINT), and minutes of backoff would only
// hide that. Once it has answered, a network error is a passing fault and
// keeps the usual retries.
type firstContact struct {
	endpoint string
	answered atomic.Bool  // some request got an answer (any status)
	failed   atomic.Int64 // attempts that failed to connect before any answer
}

// firstContactDial bounds each attempt to connect before the endpoint has
// ever answered (then the dialer's own 30 s): a host that drops packets
// is given up on in 3 × 10 s, not 3 × 30 s.
const firstContactDial = 10 * time.Second

// dial is next, with attempts to connect bounded by firstContactDial
// until the endpoint has answered.
func (c *firstContact) dial(next func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if c.answered.Load() {
			return next(ctx, network, addr)
		}
		ctx, cancel := context.WithTimeout(ctx, firstContactDial)
		defer cancel()
		return next(ctx, network, addr)
	}
}

// retryPolicy is retryPolicy, but for failures to connect before the
// first answer.
func (c *firstContact) retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil && ctx.Err() == nil && !c.answered.Load() {
		if cause := unreachableCause(err); cause != "" {
			if c.failed.Add(1) >= firstContactAttempts {
				return false, &UnreachableError{Endpoint: c.endpoint, Cause: cause, Err: err}
			}
			return true, nil
		}
	}
	return retryPolicy(ctx, resp, err)
}

// backoff waits briefly between attempts that could not connect while the
// endpoint has never answered, else as next does.
func (c *firstContact) backoff(next retryablehttp.Backoff) retryablehttp.Backoff {
	return func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp == nil && !c.answered.Load() {
			return min(lo, firstContactWait) << min(attempt, 2)
		}
		return next(lo, hi, attempt, resp)
	}
}

// unreachableCause says, in a few words, why err is a failure to reach the
// server at all (a name that does not resolve, a refused or unroutable
// connection, a TLS handshake that fails), or "" when it is not one.
func unreachableCause(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	var recordHeader tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host"
		}
		return "cannot resolve " + dns.Name + ": " + dns.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable"
	case errors.As(err, &recordHeader), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "TLS handshake failed: the server does not speak TLS"
	case errors.As(err, &verify):
		return "TLS certificate not accepted: " + verify.Err.Error()
	case errors.As(err, &unknownAuthority):
		return "TLS certificate not accepted: " + unknownAuthority.Error()
	case errors.As(err, &hostname):
		return "TLS certificate not accepted: " + hostname.Error()
	case errors.As(err, &invalid):
		return "TLS certificate not accepted: " + invalid.Error()
	case errors.As(err, &op) && op.Op == "dial":
		if op.Timeout() {
			return "connection timed out"
		}
		return op.Err.Error()
	}
	return ""
}
