package server

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// do sends a request with the given headers (Host: "host") and returns
// the answer's status, body and headers.
func do(t *testing.T, method, url string, headers map[string]string, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestHostCheck: a request naming another host (DNS rebinding: a page on
// an attacker's domain that resolves to 127.0.0.1) reads nothing; loopback
// names, the listening address and --allowed-host names are answered.
func TestHostCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		host   string
		status int
	}{
		{"a rebinding domain", Config{}, "rebind.evil.example", 421},
		{"a rebinding domain with the port", Config{}, "rebind.evil.example:8080", 421},
		{"127.0.0.1", Config{}, "127.0.0.1:8080", 200},
		{"localhost", Config{}, "localhost:8080", 200},
		{"LOCALHOST.", Config{}, "LOCALHOST.", 200},
		{"a .localhost name", Config{}, "app.localhost", 200},
		{"::1", Config{}, "[::1]:8080", 200},
		{"another address, on loopback", Config{}, "10.1.2.3", 421},
		{"the listening address", Config{Addr: "10.1.2.3:8080", AuthToken: strings.Repeat("t", 16)}, "10.1.2.3:8080", 200},
		{"another address than the listening one", Config{Addr: "10.1.2.3:8080", AuthToken: strings.Repeat("t", 16)}, "10.9.9.9:8080", 421},
		{"any address when listening on all", Config{Addr: "0.0.0.0:8080", AuthToken: strings.Repeat("t", 16)}, "10.9.9.9:8080", 200},
		{"but no name", Config{Addr: "0.0.0.0:8080", AuthToken: strings.Repeat("t", 16)}, "rebind.evil.example", 421},
		{"an allowed host", Config{AllowedHosts: []string{"Lineage.Example.org"}}, "lineage.example.org:443", 200},
		{"not an allowed host", Config{AllowedHosts: []string{"lineage.example.org"}}, "evil.example.org", 421},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ts, _ := newTestServer(t, tc.cfg)
			status, body, h := do(t, "GET", ts.URL+"/api/v1/stats", map[string]string{"Host": tc.host}, "")
			if status != tc.status {
				t.Errorf("Host %q: %d %s, want %d", tc.host, status, body, tc.status)
			}
			if status == 421 && (!strings.Contains(body, `"error":"Host `) || strings.Contains(body, `"models"`) || h.Get("Content-Security-Policy") == "") {
				t.Errorf("Host %q refused with %s", tc.host, body)
			}
		})
	}
}

// TestCrossSiteRequests: what another site's page can send — a simple
// POST (text/plain, a form), a request with its Origin, an <img> of an
// export — is refused before it costs anything; the server's own page,
// the CLI and curl pass. Every POST needs a token: the session token or
// the configured one, with the scheme in any case.
func TestCrossSiteRequests(t *testing.T) {
	const configured = "configured-token-0123"
	s, ts, _ := newTestServer(t, Config{AuthToken: configured})
	session := "Bearer " + s.SessionToken()
	crawl := `{"seeds":["a/ft"],"mode":"walk"}`
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, tc := range []struct {
		name, method, path string
		headers            map[string]string
		status             int
		has                string
	}{
		{"a text/plain POST (no preflight)", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "text/plain", "Authorization": session}, 415, "needs Content-Type: application/json"},
		{"a form POST", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"a POST without a type", "POST", "/api/v1/crawl", map[string]string{"Authorization": session}, 415, "application/json"},
		{"a POST from another origin", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:1", "Authorization": session}, 403, "another origin"},
		{"a POST from origin null", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Origin": "null", "Authorization": session}, 403, "another origin"},
		{"a POST a browser marks cross-site", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", "Authorization": session}, 403, "another site"},
		{"a POST from another port of the host", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site", "Authorization": session}, 403, "another site"},
		{"a POST without a token", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json"}, 401, "needs a token"},
		{"a POST with a wrong token", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer nope"}, 401, "needs a token"},
		{"a POST with Basic", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Authorization": "Basic " + s.SessionToken()}, 401, "needs a token"},
		{"the page's POST", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": ts.URL, "Sec-Fetch-Site": "same-origin", "Authorization": session}, 202, `"queued"`},
		{"the CLI's POST", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Authorization": session}, 202, `"queued"`},
		{"bearer in lower case", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Authorization": "bearer " + s.SessionToken()}, 202, `"queued"`},
		{"the configured token, BEARER", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "application/json", "Authorization": "BEARER " + configured}, 202, `"queued"`},
		{"an <img> of an export from another site", "GET", "/api/v1/export?format=csv", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}, 403, "another site"},
		{"a cross-origin fetch of the stats", "GET", "/api/v1/stats", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"}, 403, "another origin"},
		{"the metrics, from another site", "GET", "/metrics", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "another site"},
		{"the page's export link", "GET", "/api/v1/export?format=csv", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, "parent,relation,child"},
		{"a link to the explorer from elsewhere", "GET", "/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 200, "<html"},
		{"the page's own fetch, with its Origin", "GET", "/api/v1/count?model=a/ft", map[string]string{"Origin": "http://" + host}, 200, `"model":"a/ft"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := do(t, tc.method, ts.URL+tc.path, tc.headers, crawl)
			if tc.status == 202 && status == 200 && strings.Contains(body, `"merged":true`) {
				status = 202 // accepted: the same crawl as one queued before, merged into it
			}
			if status != tc.status || !strings.Contains(body, tc.has) {
				t.Errorf("%d %.300s; want %d with %q", status, body, tc.status, tc.has)
			}
			if tc.path != "/" && strings.Contains(body, s.SessionToken()) || strings.Contains(body, configured) {
				t.Errorf("an answer shows a token: %s", body)
			}
		})
	}
}

// TestSecurityHeaders: every answer, errors and refusals included, carries
// the CSP (no inline script or style, no framing), nosniff, X-Frame-Options
// and Referrer-Policy.
func TestSecurityHeaders(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		name, method, path string
		headers            map[string]string
	}{
		{"the page", "GET", "/", nil},
		{"a script", "GET", "/app.js", nil},
		{"an answer", "GET", "/api/v1/count?model=a/ft", nil},
		{"an export", "GET", "/api/v1/export?format=dot&model=a/ft", nil},
		{"an error", "GET", "/api/v1/count", nil},
		{"a 404", "GET", "/api/v1/nothing", nil},
		{"the metrics", "GET", "/metrics", nil},
		{"a refused host", "GET", "/", map[string]string{"Host": "evil.example"}},
		{"a refused POST", "POST", "/api/v1/crawl", map[string]string{"Content-Type": "text/plain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, h := do(t, tc.method, ts.URL+tc.path, tc.headers, "")
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if h.Get(k) != v {
					t.Errorf("%s: %q, want %q", k, h.Get(k), v)
				}
			}
		})
	}
}

// TestPageToken: the page carries the session token for the server's own
// user over loopback (this test runs as that user), and nothing else that
// looks like one; another user's connection gets none.
func TestPageToken(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{AuthToken: "configured-token-0123"})
	_, body, h := do(t, "GET", ts.URL+"/", nil, "")
	if !strings.Contains(body, `<meta name="hflineage-token" content="`+s.SessionToken()+`">`) {
		t.Errorf("the page lacks its session token:\n%s", body)
	}
	if strings.Contains(body, "configured-token-0123") || h.Get("Cache-Control") != "no-store" {
		t.Errorf("the page shows the configured token or may be cached (%q)", h.Get("Cache-Control"))
	}
	if strings.Contains(body, "__hfl") {
		t.Error("the page has a test hook")
	}
	if _, js, _ := do(t, "GET", ts.URL+"/app.js", nil, ""); strings.Contains(js, "__hfl") || strings.Contains(js, s.SessionToken()) {
		t.Error("app.js has a test hook or the token")
	}

	// The kernel's table as clientUID reads it: the client's end of a
	// connection belongs to its user.
	server := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	client := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
	table := procfs.NetTCP{
		{LocalAddr: server.IP, LocalPort: 8080, RemAddr: client.IP, RemPort: 50000, UID: 1000},              // the server's end
		{LocalAddr: client.IP, LocalPort: 50000, RemAddr: server.IP, RemPort: 8080, UID: 1001},              // the client's
		{LocalAddr: client.IP, LocalPort: 50001, RemAddr: server.IP, RemPort: 8080, UID: 1000},              // another client
		{LocalAddr: net.IPv4(127, 0, 0, 2), LocalPort: 50000, RemAddr: server.IP, RemPort: 8080, UID: 1000}, // another address
	}
	if uid, ok := clientUID(table, server, client); !ok || uid != 1001 {
		t.Errorf("clientUID = %d, %v; want 1001 (the client's end)", uid, ok)
	}
	if _, ok := clientUID(table, server, &net.TCPAddr{IP: client.IP, Port: 50002}); ok {
		t.Error("clientUID found a connection not in the table")
	}
	// A page opened from another site's link, or a request that did not
	// come over loopback, gets no token.
	if _, body, _ := do(t, "GET", ts.URL+"/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, ""); strings.Contains(body, s.SessionToken()) {
		t.Error("a page opened from another site got the token")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:5000"
	w := httptest.NewRecorder()
	s.page(w, r)
	if strings.Contains(w.Body.String(), s.SessionToken()) {
		t.Error("a request from elsewhere got the token")
	}
}

// TestCheckToken: a blank or short token, or one that cannot travel in a
// header, is refused, saying the minimum.
func TestCheckToken(t *testing.T) {
	for _, tc := range []struct {
		token, err string
	}{
		{"", "blank"},
		{"   ", "blank"},
		{"x", "at least 16"},
		{"fifteen-chars-x", "at least 16"},
		{"sixteen-chars-xx", ""},
		{"with a space in it", "printable ASCII without spaces"},
		{"tab\tinside-the-token", "printable ASCII"},
	} {
		err := CheckToken(tc.token)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckToken(%q) = %v, want %q", tc.token, err, tc.err)
		}
	}
	if (&Server{}).hostAllowed("") {
		t.Error("a request without Host is answered")
	}
}
