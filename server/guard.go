package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// A local service is reachable from every page its user's browser opens,
// and from every user of the machine. The guard below answers, before any
// route:
//
//   - a Host that is not this server's (a loopback name, the address it
//     listens on, or one of Config.AllowedHosts): 421, so that a page on
//     an attacker's domain that resolves to 127.0.0.1 (DNS rebinding)
//     reads nothing;
//   - an API request another site's page makes (Sec-Fetch-Site cross-site
//     or same-site, or an Origin that is not this server): 403, so that
//     <img src=…/export> or a form on another origin costs nothing;
//   - a request that changes state (POST, PUT, PATCH, DELETE) whose body
//     is not application/json: 415, so that no simple cross-origin request
//     (text/plain, a form) can be one;
//
// and every answer carries the security headers (securityHeaders). Writes
// then need a token (requireToken): the configured one, or the session
// token the server makes at start, which its owner's CLI reads from a
// file only it can read, and its owner's browser gets in the page.

// MinTokenLength is the shortest --auth-token a server accepts.
const MinTokenLength = 16

// CheckToken validates a configured token: not blank, at least
// MinTokenLength characters, printable ASCII without spaces (it travels
// in a header).
func CheckToken(t string) error {
	if strings.TrimSpace(t) == "" {
		return errors.New("the token is blank")
	}
	if len(t) < MinTokenLength {
		return fmt.Errorf("the token is %d characters long; use at least %d (e.g. openssl rand -hex 16)", len(t), MinTokenLength)
	}
	for _, c := range []byte(t) {
		if c <= ' ' || c >= 0x7f {
			return errors.New("the token must be printable ASCII without spaces")
		}
	}
	return nil
}

// newSessionToken returns 256 random bits, URL-safe.
func newSessionToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SessionToken is the token this server made at start: POSTs carrying it
// as "Authorization: Bearer …" pass, as with Config.AuthToken. Give it
// only to the server's owner (`hflineage serve` writes it to a file only
// its user can read); never log it.
func (s *Server) SessionToken() string { return s.session }

// securityHeaders are on every answer. The page loads its script, style
// and pictures from the server only, inline nothing, and may not be
// framed; answers are not sniffed into another type, and links do not
// tell other sites where the user came from.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// guard refuses what no browser of this server's user nor its CLI sends
// (see above), and sets the security headers.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Errorf("Host %q is not a name of this server: it answers to a loopback name (localhost, 127.0.0.1, [::1])%s; start it with --allowed-host NAME for a proxy's name", r.Host, s.otherNames()))
			return
		}
		if err := sameOrigin(r); err != nil {
			writeError(w, http.StatusForbidden, err)
			return
		}
		if changesState(r.Method) {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("%s %s needs Content-Type: application/json", r.Method, r.URL.Path))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// changesState reports whether a method may change state.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// sameOrigin refuses a request made by another origin's page: one whose
// Origin is not this server, or, for the API, the metrics and anything
// that changes state, that the browser marks as cross-site or same-site
// (another port of the same host is another origin). A request without
// these headers (a CLI, curl) and a page navigating to the explorer from
// elsewhere pass.
func sameOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if o == "null" || err != nil || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Errorf("a request from another origin (%s) is refused: use this server's own page or the CLI", o)
		}
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		if changesState(r.Method) || strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
			return fmt.Errorf("a request from another site's page (Sec-Fetch-Site: %s) is refused: use this server's own page or the CLI", site)
		}
	}
	return nil
}

// hostAllowed reports whether a request's Host names this server: a
// loopback name or address, the address it listens on (any address when
// it listens on all of them: an attacker's domain is a name, not an
// address), or a name in Config.AllowedHosts.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || s.listenIP != nil && (s.listenIP.IsUnspecified() || s.listenIP.Equal(ip))
	}
	if s.listenName != "" && host == s.listenName {
		return true
	}
	for _, a := range s.cfg.AllowedHosts {
		if strings.EqualFold(host, a) {
			return true
		}
	}
	return false
}

// otherNames lists the names besides loopback that the server answers to.
func (s *Server) otherNames() string {
	var names []string
	switch {
	case s.listenIP != nil && s.listenIP.IsUnspecified():
		names = append(names, "any of this machine's addresses")
	case s.listenIP != nil && !s.listenIP.IsLoopback():
		names = append(names, s.listenIP.String())
	case s.listenName != "":
		names = append(names, s.listenName)
	}
	names = append(names, s.cfg.AllowedHosts...)
	if len(names) == 0 {
		return ""
	}
	return " and " + strings.Join(names, ", ")
}

// NormalizeHost returns an --allowed-host value as the guard compares it
// (a name or address, no port), or an error.
func NormalizeHost(v string) (string, error) {
	h := strings.TrimSpace(v)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
	if h == "" || strings.ContainsAny(h, "/ :@*") && net.ParseIP(h) == nil {
		return "", fmt.Errorf("want a host name such as lineage.example.org, not %q", v)
	}
	return h, nil
}

// requireToken guards a handler with a token: the session token or the
// configured one, as "Authorization: Bearer TOKEN" (the scheme in any
// case).
func (s *Server) requireToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hflineage"`)
			writeError(w, http.StatusUnauthorized, errors.New("this server needs a token to change anything (Authorization: Bearer …): the one it was started with, or, on this machine, the one in serve.token beside the database (the CLI and the explorer send it)"))
			return
		}
		h(w, r)
	}
}

// tokenOK reports whether an Authorization header carries a token of
// this server.
func (s *Server) tokenOK(auth string) bool {
	scheme, got, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	got = strings.TrimSpace(got)
	match := subtle.ConstantTimeCompare([]byte(got), []byte(s.session))
	if s.cfg.AuthToken != "" {
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AuthToken))
	}
	return match == 1
}
