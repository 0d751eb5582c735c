package server

import (
	"strings"
	"testing"
)

// TestTreeHeavyAndCapped: /api/v1/tree runs in the heavy slots (503 with
// Retry-After when they are full, a HEAD takes none) and caps depth and
// max, with messages naming the parameter and the cap.
func TestTreeHeavyAndCapped(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{Heavy: 2})
	const path = "/api/v1/tree?model=a/ft"
	for range cap(s.heavy) {
		s.heavy.take()
	}
	status, body, h := get(t, ts.URL+path)
	if status != 503 || h.Get("Retry-After") != "2" || !strings.Contains(body, `"error":"the server is busy: `) {
		t.Errorf("with every slot taken: %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
	}
	if status, _, _ := do(t, "HEAD", ts.URL+path, nil, ""); status == 503 {
		t.Error("a HEAD waits for a slot")
	}
	for range cap(s.heavy) {
		s.heavy.release()
	}
	for _, tc := range []struct {
		name, query string
		status      int
		has         string
	}{
		{"the slots free", "", 200, `"tree":{"id":"a/ft"`},
		{"depth at the cap", "&depth=100", 200, `"tree"`},
		{"depth over the cap", "&depth=1000000", 400, `depth must be at most 100 on this server, not 1000000`},
		{"max at the cap", "&max=1000", 200, `"tree"`},
		{"max 0 (all)", "&max=0", 200, `"tree"`},
		{"max over the cap", "&max=1001", 400, `max must be at most 1000 on this server`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+path+tc.query)
			if status != tc.status || !strings.Contains(body, tc.has) {
				t.Errorf("%d %.200s; want %d with %q", status, body, tc.status, tc.has)
			}
		})
	}
}
