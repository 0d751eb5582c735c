package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/store"
)

// heldHub is a fake Hub that answers holdAt-1 requests and holds every
// later one until release (or the request's end): a crawl against it
// stops mid-walk, with the pages before committed.
type heldHub struct {
	*hubtest.Server
	held    chan struct{} // closed at the first held request
	release chan struct{}
}

func startHeldHub(t *testing.T, w *hubtest.World, holdAt int) *heldHub {
	t.Helper()
	h := &heldHub{Server: hubtest.NewUnstartedServer(w), held: make(chan struct{}), release: make(chan struct{})}
	h.MaxPageSize = 4
	var once sync.Once
	h.Fault = func(n int, r *http.Request) hubtest.Fault {
		if n >= holdAt {
			once.Do(func() { close(h.held) })
			select {
			case <-h.release:
			case <-r.Context().Done():
			}
		}
		return hubtest.NoFault
	}
	h.Start()
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(h.release) }); h.Close() })
	return h
}

// run runs the binary and returns its exit code, stdout and stderr.
func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// readsOf are the reads compared during and after the crawl: count,
// stats and export of the family, each as the command prints it.
func readsOf(t *testing.T, bin, db, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, args := range map[string][]string{
		"count":  {"count", "--json", root},
		"stats":  {"stats", "--json"},
		"export": {"export", "--format", "dot", "--root", root},
	} {
		code, stdout, stderr := runBin(t, bin, append(args, "--db", db)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if strings.Contains(stderr, "in use") {
			t.Errorf("%s: %s", name, stderr)
		}
		out[name] = stdout
	}
	return out
}

// sameData compares two answers of a read, leaving out what says how
// current it is rather than what the database holds: which crawl is
// unfinished (stopped since) and the data version (the stop commits).
func sameData(t *testing.T, name, during, after string) {
	t.Helper()
	if name == "export" {
		if during != after || during == "" {
			t.Errorf("export during the crawl differs from the export after it:\n%s\n---\n%s", during, after)
		}
		return
	}
	var d, a map[string]any
	if err := json.Unmarshal([]byte(during), &d); err != nil {
		t.Fatalf("%s during the crawl: %v: %s", name, err, during)
	}
	if err := json.Unmarshal([]byte(after), &a); err != nil {
		t.Fatalf("%s after the crawl: %v: %s", name, err, after)
	}
	for _, m := range []map[string]any{d, a} {
		delete(m, "incomplete")
		delete(m, "data_version")
		delete(m, "versions_behind")
	}
	if !reflect.DeepEqual(d, a) {
		t.Errorf("%s during the crawl differs from %s after it:\n%s\n---\n%s", name, name, during, after)
	}
}

// TestReadDuringCrawl holds a real `crawl` (and a `schedule`'s crawl)
// mid-walk (the fake Hub stops answering) and reads while it holds the
// database: count, stats and export are answered by the crawling process,
// from what it committed — the same answers the database gives once the
// crawl has stopped. The crawl's reader takes no crawl (409), a second
// crawl and a serve are refused naming the process, and the crawl's files
// are gone after it.
func TestReadDuringCrawl(t *testing.T) {
	bin := buildBinary(t)
	// A walk reads the store unless told to keep the live graph.
	for _, command := range [][]string{{"crawl"}, {"schedule", "--every", "1h"}, {"crawl", "--reads", "live"}} {
		t.Run(strings.Join(command, " "), func(t *testing.T) { readDuringCrawl(t, bin, command) })
	}
}

// TestReadDuringScan: a scan (--reads auto) held mid-way keeps no graph
// until a read needs the whole graph; `stats` then has it made and
// answers from what the scan committed (not complete) — the same figures
// the database gives once the scan has stopped.
func TestReadDuringScan(t *testing.T) {
	bin := buildBinary(t)
	p, db := heldCrawl(t, bin, []string{"crawl", "--all"}) // 4 models a page: 7 pages committed
	var during, after struct {
		Models   int
		Complete bool
	}
	waitFor(t, p, "statistics from the scan", func() bool {
		code, stdout, _ := runBin(t, bin, "stats", "--db", db, "--json")
		return code == 0 && json.Unmarshal([]byte(stdout), &during) == nil && during.Models > 0
	})
	if during.Complete || during.Models >= serveWorld().Len() {
		t.Errorf("stats during the scan: %+v; want part of the %d models, not complete", during, serveWorld().Len())
	}
	p.signal(t, syscall.SIGINT, "held by the Hub, its reader answering")
	p.wantExit(t, exitCanceled, "hflineage: interrupted; progress is saved (run the same command again to resume)\n")
	code, stdout, stderr := runBin(t, bin, "stats", "--db", db, "--json")
	if code != 0 || json.Unmarshal([]byte(stdout), &after) != nil || after != during {
		t.Errorf("stats after the scan stopped: exit %d, %s %s; want %+v as during it", code, stdout, stderr, during)
	}
}

// TestReadsNone: `crawl --reads none` answers no reads: it advertises no
// reader, and a read names the process that holds the database.
func TestReadsNone(t *testing.T) {
	bin := buildBinary(t)
	p, db := heldWalk(t, bin, []string{"crawl", "--reads", "none"})
	if _, err := os.Stat(filepath.Join(db, serveAddrFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a crawl with --reads none advertises a reader (%v)", err)
	}
	code, _, stderr := runBin(t, bin, "count", "--db", db, heldRoot)
	if want := fmt.Sprintf("is in use by another hflineage process (pid %d)", p.pid()); code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("count during the crawl: exit %d, %q; want exit 1 with %q", code, stderr, want)
	}
	p.signal(t, syscall.SIGINT, "held by the Hub")
	p.wantExit(t, exitCanceled, "hflineage: interrupted; progress is saved (run the same command again to resume)\n")
}

// heldRoot is the family heldWalk walks.
const heldRoot = "meta-llama/Llama-3.1-8B"

// heldWalk starts command (crawl or schedule, with its flags) walking
// heldRoot's family (about 20 requests) as heldCrawl does.
func heldWalk(t *testing.T, bin string, command []string) (*proc, string) {
	t.Helper()
	return heldCrawl(t, bin, append(command, "--mode", "walk", "--parallel", "1", heldRoot))
}

// heldCrawl starts command (crawl or schedule, with its flags and models)
// crawling into a new database from a Hub that stops answering at its 8th
// request (4 models a page), and returns once the Hub holds it.
func heldCrawl(t *testing.T, bin string, command []string) (*proc, string) {
	t.Helper()
	hub := startHeldHub(t, serveWorld(), 8)
	db := filepath.Join(t.TempDir(), "db")
	p := start(t, exec.Command(bin, append(command, "--db", db, "--endpoint", hub.URL)...))
	select {
	case <-hub.held:
	case <-p.exited:
		t.Fatalf("the crawl ended before the Hub held it: %s", p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("the crawl did not reach the Hub's 8th request: %s", p.stderr)
	}
	return p, db
}

func readDuringCrawl(t *testing.T, bin string, command []string) {
	const root = heldRoot
	p, db := heldWalk(t, bin, command)
	pid := p.pid()

	// The reader is advertised as serve's is.
	b, err := os.ReadFile(filepath.Join(db, serveAddrFile))
	if err != nil {
		t.Fatalf("the crawl advertises no reader: %v", err)
	}
	base := "http://" + strings.TrimSpace(string(b))
	if fi, err := os.Stat(filepath.Join(db, serveTokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", serveTokenFile, fi, err)
	}
	// Statistics come from a view refreshed in the background; once the
	// crawl has been quiet a moment, the view is the last commit's.
	waitFor(t, p, "statistics of the last commit", func() bool {
		var st struct {
			VersionsBehind uint64 `json:"versions_behind"`
		}
		resp, err := http.Get(base + "/api/v1/stats")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&st) == nil && resp.StatusCode == 200 && st.VersionsBehind == 0
	})

	during := readsOf(t, bin, db, root)
	var c struct {
		Descendants struct{ Total int }
		Complete    bool
	}
	if err := json.Unmarshal([]byte(during["count"]), &c); err != nil || c.Descendants.Total == 0 || c.Descendants.Total >= 60 || c.Complete {
		t.Errorf("count during the crawl: %v: %s; want some of the 60 descendants, not complete", err, during["count"])
	}

	// The reader takes no crawl: GET says healthz read_only, a POST is 409.
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health["read_only"] != true {
		t.Errorf("healthz of the crawl's reader: %v; want read_only", health)
	}
	token, _ := os.ReadFile(filepath.Join(db, serveTokenFile))
	req, _ := http.NewRequest("POST", base+"/api/v1/crawl", strings.NewReader(`{"seeds":["a/ft"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var refused struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&refused)
	resp.Body.Close()
	if want := fmt.Sprintf("a crawl is running in process %d", pid); resp.StatusCode != http.StatusConflict || !strings.Contains(refused.Error, want) {
		t.Errorf("POST /api/v1/crawl to the crawl's reader: %d %q; want 409 with %q", resp.StatusCode, refused.Error, want)
	}

	// A second crawl and a serve are refused in one line naming the process.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"crawl", "--db", db, "a/ft"}, fmt.Sprintf("crawl: a crawl is running in process %d", pid)},
		{[]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, fmt.Sprintf("is being crawled by process %d, which answers reads at %s", pid, base)},
	} {
		code, _, stderr := runBin(t, bin, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 { // one line: no summary of a crawl that did not run
			t.Errorf("%v during the crawl: exit %d: %q; want exit 1 with %q", tc.args[0], code, stderr, tc.want)
		}
	}

	// Ctrl-C stops the crawl as before; its files go with it.
	p.signal(t, syscall.SIGINT, "held by the Hub, its reader answering")
	p.wantExit(t, exitCanceled, "hflineage: interrupted; progress is saved (run the same command again to resume)\n")
	for _, f := range []string{serveAddrFile, serveTokenFile} {
		if _, err := os.Stat(filepath.Join(db, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the crawl left %s behind", f)
		}
	}
	// Reads open the database directly now, and find what they were told.
	after := readsOf(t, bin, db, root)
	for name := range during {
		sameData(t, name, during[name], after[name])
	}
}

// TestSecondServeSaysWhereTheFirstListens: a serve on a database another
// serve holds fails in one line naming its address and process.
func TestSecondServeSaysWhereTheFirstListens(t *testing.T) {
	bin := buildBinary(t)
	hub := hubtest.NewServer(testWorld())
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "a/ft"); code != 0 {
		t.Fatal(stderr)
	}
	first := startServe(t, bin, db)
	code, _, stderr := cli(t, "serve", "--db", db, "--addr", "127.0.0.1:0")
	want := fmt.Sprintf("hflineage: serve: database %s is already served at %s by process %d\n", db, first.addr, first.cmd.Process.Pid)
	if code != 1 || stderr != want {
		t.Errorf("second serve: exit %d, %q; want exit 1, %q", code, stderr, want)
	}
}

// TestInUseNamesTheProcess: a read beside a writer that answers no reads
// (one still loading, or an older binary) names the process and says what
// to do; a writer beside readers says what holds the database.
func TestInUseNamesTheProcess(t *testing.T) {
	hub := hubtest.NewServer(testWorld())
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "a/ft"); code != 0 {
		t.Fatal(stderr)
	}
	held, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, "count", "--db", db, "a/ft")
	held.Close()
	want := fmt.Sprintf("hflineage: database %s is in use by another hflineage process (pid %d): a crawl or schedule is running; "+
		"reads are answered by it once it has started its reader, or run `hflineage serve`\n", db, os.Getpid())
	if code != 1 || stderr != want {
		t.Errorf("count beside a writer: exit %d, %q; want %q", code, stderr, want)
	}

	reader, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	code, _, stderr = cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "a/ft")
	if code != 1 || !strings.Contains(stderr, "is in use by another hflineage process: a command reading it") || strings.Contains(stderr, "pid") {
		t.Errorf("crawl beside a reader: exit %d, %q", code, stderr)
	}
}

// TestStaleAddressOfAnotherServer: serve.addr left by a killed process
// may name a port another process's server has taken since; a read
// beside the process that holds the database now (and answers no reads)
// must not ask that server, whose /healthz names another process.
func TestStaleAddressOfAnotherServer(t *testing.T) {
	hub := hubtest.NewServer(testWorld())
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "a/ft"); code != 0 {
		t.Fatal(stderr)
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintf(w, `{"status":"ok","pid":%d}`, os.Getpid()+1)
			return
		}
		fmt.Fprint(w, `{"model":"not/this-database"}`)
	}))
	defer other.Close()
	if err := os.WriteFile(filepath.Join(db, serveAddrFile), []byte(strings.TrimPrefix(other.URL, "http://")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	held, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, stdout, stderr := cli(t, "count", "--db", db, "--json", "a/ft")
	if code != 1 || strings.Contains(stdout, "not/this-database") || !strings.Contains(stderr, fmt.Sprintf("(pid %d)", os.Getpid())) {
		t.Errorf("count beside a stale address: exit %d, %q, %q; want the in-use error", code, stdout, stderr)
	}
}
