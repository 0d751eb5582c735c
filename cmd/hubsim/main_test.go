package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

func TestParseFlagsRefuses(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--rounding", "sideways"}, "--rounding"},
		{[]string{"--fault", "boom"}, "--fault"},
		{[]string{"--models", "0"}, "--models"},
		{[]string{"--page", "0"}, "--page"},
		{[]string{"--quota", "-1"}, "must not be negative"},
		{[]string{"--page-without-full", "-1"}, "--page-without-full"},
		{[]string{"--window", "0s"}, "--window"},
		{[]string{"--slow", "-1s"}, "--slow"},
		{[]string{"--rename", "nothing"}, "OLD=NEW"},
		{[]string{"--gated", "a/b=sometimes"}, "manual or auto"},
		{[]string{"--tree", "a.json", "--world", "b.json"}, "different worlds"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--no-such-flag"}, "not defined"},
		{[]string{"--fault", "502"}, "--fault needs --fault-every N"},
		{[]string{"--fault", "502", "--fault-every", "0"}, "--fault needs --fault-every N"},
		{[]string{"--link-host", "evil host"}, "--link-host"},
		{[]string{"--link-host", "http://evil.example"}, "--link-host"},
		{[]string{"--link-host", "evil.example/path"}, "--link-host"},
		{[]string{"--link-host", "evil.example:"}, "--link-host"},
		{[]string{"--link-host", "evil.example:http"}, "--link-host"},
		{[]string{"--link-host", "evil.example:70000"}, "--link-host"},
		{[]string{"--link-host", "user@evil.example"}, "--link-host"},
		{[]string{"--link-host", "evil.example?x=1"}, "--link-host"},
		{[]string{"--link-host", "evil\tex"}, "--link-host"},
		{[]string{"--link-host", "[not-an-ip]:80"}, "--link-host"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, io.Discard)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want a usage error about %q", tt.args, err, tt.want)
		}
	}
	if _, err := parseFlags([]string{"--help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	for _, args := range [][]string{
		{"--fault-every", "3"}, {"--fault", "drop", "--fault-every", "3"},
		{"--link-host", "huggingface.co"}, {"--link-host", "elsewhere.example:8443"},
		{"--link-host", "127.0.0.1:8088"}, {"--link-host", "[::1]:8088"}, {"--link-host", "[::1]"},
		{"--link-host", "my_mirror.local"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestRunBadWorld: a --world that cannot be read is a usage error (exit 2)
// in one line, before anything listens.
func TestRunBadWorld(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"models\": [\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, world := range []string{"/nonexistent/tree.json", bad, t.TempDir()} {
		err := run(context.Background(), []string{"--world", world, "--addr", "127.0.0.1:0"}, io.Discard)
		if !errors.As(err, new(usageError)) || !strings.HasPrefix(err.Error(), "--world: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("--world %s: %q, want a one-line usage error", world, err)
		}
	}
}

// serveHub builds the fake Hub hubsim's args describe and serves it on a
// loopback httptest server, closed when the test ends.
func serveHub(t *testing.T, args ...string) (*config, *hubtest.Server, *httptest.Server) {
	t.Helper()
	c, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	hub, _, err := newHub(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	return c, hub, srv
}

func TestNewHubRefusesUnknownModels(t *testing.T) {
	for _, args := range [][]string{
		{"--private", "no/such"}, {"--gated", "no/such"}, {"--rename", "a/b=no/such"},
		{"--rename", "base-org-1/Base-Model-1=base-org-0/Base-Model-0"}, {"--world", "/nonexistent/tree.json"},
	} {
		c, err := parseFlags(append([]string{"--models", "100"}, args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := newHub(c); !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// TestFlags: each behaviour flag shows in the answers.
func TestFlags(t *testing.T) {
	start := func(args ...string) *httptest.Server {
		_, _, srv := serveHub(t, append([]string{"--models", "200"}, args...)...)
		return srv
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status := func(srv *httptest.Server, path string) (int, http.Header) {
		resp, err := noRedirect.Get(srv.URL + path)
		if err != nil {
			return 0, nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	srv := start("--private", "base-org-2/Base-Model-2", "--gated", "base-org-1/Base-Model-1=auto", "--rename", "x/old=base-org-0/Base-Model-0")
	if code, _ := status(srv, "/api/models/base-org-2/Base-Model-2"); code != 401 {
		t.Errorf("private: %d", code)
	}
	if code, h := status(srv, "/api/models/x/old"); code != 307 || h.Get("Location") != "/api/models/base-org-0/Base-Model-0" {
		t.Errorf("rename: %d %v", code, h.Get("Location"))
	}
	resp, _ := http.Get(srv.URL + "/api/models/base-org-1/Base-Model-1?expand[]=gated")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"gated":"auto"`) {
		t.Errorf("gated: %s", b)
	}

	srv = start("--quota", "2", "--window", "1h", "--retry-after", "--rounding", "down")
	status(srv, "/api/models?limit=1")
	_, h := status(srv, "/api/models?limit=1")
	if code, h3 := status(srv, "/api/models?limit=1"); code != 429 || h3.Get("Retry-After") == "" || !strings.HasPrefix(h.Get("RateLimit"), `"api";r=0;t=35`) {
		t.Errorf("quota: %d, Retry-After %q, RateLimit %q", code, h3.Get("Retry-After"), h.Get("RateLimit"))
	}

	srv = start("--fault", "502", "--fault-every", "2")
	var codes []int
	for range 4 {
		code, _ := status(srv, "/api/models?limit=1")
		codes = append(codes, code)
	}
	if codes[0] != 200 || codes[1] != 502 || codes[2] != 200 || codes[3] != 502 {
		t.Errorf("--fault 502 --fault-every 2: %v", codes)
	}

	srv = start("--page", "3", "--max-limit", "50", "--link-host", "elsewhere.example")
	if code, h := status(srv, "/api/models?limit=10"); code != 200 || !strings.HasPrefix(h.Get("Link"), "<http://elsewhere.example/api/models?") {
		t.Errorf("--page/--link-host: %d %s", code, h.Get("Link"))
	}
	if code, _ := status(srv, "/api/models?limit=51"); code != 400 {
		t.Errorf("--max-limit: %d", code)
	}

	// --thin-pages: short pages that still link on, and nothing listed twice.
	srv = start("--thin-pages", "3", "--page", "10")
	url, listed, short := srv.URL+"/api/models?filter=base_model:base-org-0/Base-Model-0", map[string]bool{}, 0
	for url != "" {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var page []struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		for _, m := range page {
			if listed[m.ID] {
				t.Errorf("--thin-pages: %s listed twice", m.ID)
			}
			listed[m.ID] = true
		}
		url = ""
		if l := resp.Header.Get("Link"); l != "" {
			url = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
			if len(page) < 10 {
				short++
			}
		}
	}
	if short == 0 || len(listed) == 0 {
		t.Errorf("--thin-pages 3: %d models listed, %d short pages before the last", len(listed), short)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRunStops: hubsim serves until its context ends, then returns nil.
func TestRunStops(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// hubsim writes the address file, then says it serves (one write).
	serving := make(chan struct{})
	var once sync.Once
	said := writerFunc(func(p []byte) (int, error) {
		if strings.HasPrefix(string(p), "hubsim: serving") {
			once.Do(func() { close(serving) })
		}
		return len(p), nil
	})
	go func() {
		done <- run(ctx, []string{"--models", "100", "--addr", "127.0.0.1:0", "--addr-file", addrFile}, said)
	}()
	select {
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	case <-serving:
	case <-time.After(time.Minute): // fails a test that would hang
		t.Fatal("hubsim never said it serves")
	}
	b, err := os.ReadFile(addrFile)
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("hubsim serves, yet its address file: %v %q", err, b)
	}
	base := strings.TrimSpace(string(b))
	resp, err := http.Get(base + "/api/models/base-org-0/Base-Model-0/revision/HEAD")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
