package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/server"
)

// serveWorld is a family of 61: 16 pages of 4 to list.
func serveWorld() *hubtest.World {
	w := testWorld()
	for i := range 55 {
		w.Add(hubtest.Model{ID: fmt.Sprintf("many/ft-%02d", i), Downloads: int64(i), Tags: hubtest.ParentTags(pt("a/ft", "finetune"))})
	}
	return w
}

type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
}

func startServe(t *testing.T, bin, db string, args ...string) *serveProc {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	p := &serveProc{stderr: &lockedBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--addr-file", addrFile}, args...)...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	// serve writes the address file, then says it listens.
	waitUntil(t, "serve to listen", func() bool { return strings.Contains(p.stderr.String(), "serve: listening on") })
	b, err := os.ReadFile(addrFile)
	if err != nil || len(b) == 0 {
		t.Fatalf("serve listens, yet its address file: %v %q\n%s", err, b, p.stderr)
	}
	p.addr = "http://" + strings.TrimSpace(string(b))
	return p
}

func (p *serveProc) status(t *testing.T) server.Status {
	t.Helper()
	resp, err := http.Get(p.addr + "/api/v1/crawl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st server.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestServeCountDuringCrawlThenResume runs `serve` with a schedule against a
// Hub that holds the crawl after a few pages, counts from the CLI while the
// crawl runs (the CLI asks the server), stops it with SIGTERM mid-crawl
// (exit 0, position saved), starts it again and checks that it resumes and
// finishes the crawl.
func TestServeCountDuringCrawlThenResume(t *testing.T) {
	bin := buildBinary(t)
	hub := hubtest.NewUnstartedServer(serveWorld())
	hub.MaxPageSize = 4
	// Requests past the fourth wait until release (or their client
	// leaves). The third is queued by the commit of the second, which
	// follows the seed's: once one is held, the seed is in the database.
	gate, held := make(chan struct{}), make(chan struct{})
	var heldOnce, releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate) }) }
	hub.Fault = func(n int, r *http.Request) hubtest.Fault {
		if n > 4 {
			heldOnce.Do(func() { close(held) })
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		return hubtest.NoFault
	}
	hub.Start()
	defer hub.Close()
	defer release() // before hub.Close, which waits for held requests
	db := filepath.Join(t.TempDir(), "db")
	p := startServe(t, bin, db, "--endpoint", hub.URL, "--parallel", "2", "--every", "1h", "meta-llama/Llama-3.1-8B")
	// The session token, for the CLI's POSTs: its user's only.
	if fi, err := os.Stat(filepath.Join(db, serveTokenFile)); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v; want 0600", serveTokenFile, fi.Mode())
	}

	// Wait for the crawl to be held at the Hub after its first pages.
	select {
	case <-held:
	case <-time.After(time.Minute): // fails a test that would hang
		t.Fatalf("the scheduled crawl did not start: %+v\n%s", p.status(t), p.stderr)
	}
	if st := p.status(t); st.Running == nil {
		t.Fatalf("no crawl running while the Hub holds one: %+v", st)
	}
	out, err := exec.Command(bin, "count", "--db", db, "--json", "meta-llama/Llama-3.1-8B").Output()
	if err != nil {
		t.Fatalf("count while serve holds the database: %v", err)
	}
	var c query.Count
	if err := json.Unmarshal(out, &c); err != nil || c.Model != "meta-llama/Llama-3.1-8B" {
		t.Fatalf("count during the crawl: %v: %s", err, out)
	}
	if c.Complete {
		t.Errorf("count during an unfinished crawl says complete: %s", out)
	}

	// SIGTERM mid-crawl (a request held at the Hub): a clean exit that
	// saves the position, without waiting for the held request.
	p.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(time.Minute): // fails a test that would hang
		t.Fatalf("serve did not stop on SIGTERM while a request was held\n%s", p.stderr)
	}
	for _, f := range []string{serveAddrFile, serveTokenFile} {
		if _, err := os.Stat(filepath.Join(db, f)); !os.IsNotExist(err) {
			t.Errorf("serve left %s behind", f)
		}
	}

	// Restart without a schedule: the unfinished crawl resumes and ends.
	release()
	p = startServe(t, bin, db, "--endpoint", hub.URL)
	waitUntil(t, "the resumed crawl to finish", func() bool { return strings.Contains(p.stderr.String(), `msg="crawl finished"`) })
	if st := p.status(t); st.Last == nil || !st.Last.Complete {
		t.Fatalf("the crawl did not resume: %+v\n%s", st, p.stderr)
	}
	out, err = exec.Command(bin, "count", "--db", db, "--json", "meta-llama/Llama-3.1-8B").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"total":60},"max_depth":3,"complete":true`) {
		t.Errorf("count after the resumed crawl: %v\n%s\n%s", err, out, p.stderr)
	}
	// crawl while the server holds the database: the server runs it.
	hub.World.Add(hubtest.Model{ID: "z/new", Tags: hubtest.ParentTags(pt("a/ft", "adapter"))})
	out, err = exec.Command(bin, "crawl", "--db", db, "--mode", "walk", "meta-llama/Llama-3.1-8B").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "queued this crawl") {
		t.Errorf("crawl through the server: %v\n%s", err, out)
	}
	out, _ = exec.Command(bin, "count", "--db", db, "--json", "meta-llama/Llama-3.1-8B").CombinedOutput()
	if !strings.Contains(string(out), `"total":61}`) {
		t.Errorf("count after a crawl run by the server: %s", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"crawl", "--db", db, "nobody/nothing"}, 1, "nobody/nothing"},
		{[]string{"crawl", "--db", db, "--parallel", "2", "a/ft"}, 2, "crawls with its own"},
		{[]string{"crawl", "--db", db, "--reads", "store", "a/ft"}, 2, "answers the reads itself; drop --reads"},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.has) {
			t.Errorf("%v through the server: %v (want exit %d)\n%s", tc.args, err, tc.code, out)
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	// With the server gone, the CLI reads the database itself.
	if code, stdout, stderr := cli(t, "count", "--db", db, "--json", "meta-llama/Llama-3.1-8B"); code != 0 || !strings.Contains(stdout, `"complete":true`) {
		t.Errorf("count after serve stopped: %d %s %s", code, stdout, stderr)
	}
}

// TestServeRefusesOpenAddressWithoutToken: off loopback, a token is required.
func TestServeRefusesOpenAddressWithoutToken(t *testing.T) {
	t.Setenv("HFLINEAGE_SERVE_TOKEN", "")
	code, _, stderr := cli(t, "serve", "--db", filepath.Join(t.TempDir(), "db"), "--addr", "0.0.0.0:0")
	if code != exitUsage || !strings.Contains(stderr, "--auth-token") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// TestServeRefusesWeakTokens: a blank or short token is refused, naming
// the minimum, whether given as a flag or in the environment; the help
// says that flags show in ps and prefers the environment; --allowed-host
// takes host names.
func TestServeRefusesWeakTokens(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		args      []string
		has       string
	}{
		{"a blank flag", "", []string{"--auth-token", ""}, "--auth-token: the token is blank"},
		{"a blank flag beside a good environment", "sixteen-chars-xx", []string{"--auth-token", " "}, "--auth-token: the token is blank"},
		{"a one-character flag", "", []string{"--auth-token", "x"}, "--auth-token: the token is 1 characters long; use at least 16"},
		{"a short environment", "short", nil, "$HFLINEAGE_SERVE_TOKEN: the token is 5 characters long; use at least 16"},
		{"an allowed host with a path", "", []string{"--allowed-host", "a.example/x"}, "--allowed-host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HFLINEAGE_SERVE_TOKEN", tc.env)
			args := append([]string{"serve", "--db", filepath.Join(t.TempDir(), "db"), "--addr", "127.0.0.1:0"}, tc.args...)
			code, _, stderr := cli(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.has) {
				t.Errorf("exit %d: %s; want %d with %q", code, stderr, exitUsage, tc.has)
			}
		})
	}
	_, stdout, _ := cli(t, "serve", "--help")
	for _, want := range []string{"flags show in ps", "$HFLINEAGE_SERVE_TOKEN", "serve.token", "--allowed-host"} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), want) {
			t.Errorf("serve --help does not say %q:\n%s", want, stdout)
		}
	}
}
