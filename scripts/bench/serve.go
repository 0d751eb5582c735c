package main

// The server table: `hflineage serve` over a crawled generated Hub, driven
// by a load generator of this script's own (net/http clients, each request's
// latency recorded): counts of a ~1,700-member family and of the largest,
// counts while a crawl writes, and search.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// serveOptions shape the server table.
type serveOptions struct {
	duration time.Duration // how long each latency step runs
	clients  int           // concurrent clients of the latency steps
	writers  int           // concurrent clients counting during the crawl
	window   time.Duration // counting during the crawl stops after this (the crawl goes on)
}

// midFamily is the family size the first count target speaks of.
const midFamily = 1700

// benchServe measures `hflineage serve` on the generated Hub of n models.
// db is a database crawled from that Hub by benchWorld, or "" to crawl one.
func benchServe(bin, work string, n int, db string, o serveOptions) [][]string {
	label := fmt.Sprintf("%.1fM", float64(n)/1e6)
	hfl := filepath.Join(bin, "hflineage")
	fmt.Fprintf(os.Stderr, "bench: serve %d models: generating the Hub…\n", n)
	hubURL, stopHub := startHubsim(bin, work, fmt.Sprintf("serve-%d", n), "--models", strconv.Itoa(n))
	defer stopHub()
	if db == "" {
		db = filepath.Join(work, fmt.Sprintf("servedb-%d", n))
		fmt.Fprintf(os.Stderr, "bench: serve %d models: crawl --all…\n", n)
		measure([]string{"HF_ENDPOINT=" + hubURL, "HFLINEAGE_DB=" + db}, hfl, "crawl", "--all", "--json")
	}

	fmt.Fprintf(os.Stderr, "bench: serve %d models: starting the server…\n", n)
	srvLog := filepath.Join(work, fmt.Sprintf("serve-%d.log", n))
	srv, base, stopSrv := startServe(hfl, db, filepath.Join(work, fmt.Sprintf("serve-addr-%d", n)), srvLog,
		append(os.Environ(), "HF_ENDPOINT="+hubURL))
	defer stopSrv()
	c := newClient(max(o.clients, o.writers))
	get := func(path string, timeout time.Duration) []byte {
		b, err := c.get(base+path, timeout)
		if err != nil {
			fatalf("serve: GET %s: %v (server log: %s)", path, err, srvLog)
		}
		return b
	}

	// The families: the largest, and the base family nearest midFamily
	// members (the generator's bases are base-org-K/Base-Model-K).
	type counted struct {
		Descendants struct{ Total int } `json:"descendants"`
	}
	family := func(m string) int {
		var cc counted
		check(json.Unmarshal(get("/api/v1/count?model="+url.QueryEscape(m), 2*time.Minute), &cc))
		return cc.Descendants.Total
	}
	warm := time.Now()
	rootSize := family(root)
	mid, midSize := "", -1
	bases := max(3, n/20000) // as hubtest.Generate
	for k := range bases {
		m := fmt.Sprintf("base-org-%d/Base-Model-%d", k, k)
		if s := family(m); midSize < 0 || absInt(s-midFamily) < absInt(midSize-midFamily) {
			mid, midSize = m, s
		}
	}
	searches := []string{"base-org-1", "model-12", "zzz"}
	for _, q := range searches {
		get("/api/v1/search?q="+url.QueryEscape(q), 2*time.Minute)
	}
	fmt.Fprintf(os.Stderr, "bench: serve %d models: warm in %s; families %s (%d) and %s (%d)\n", n, fmtDur(time.Since(warm)),
		root, rootSize, mid, midSize)

	var rows [][]string
	latencyRow := func(step, path, what, target string) {
		fmt.Fprintf(os.Stderr, "bench: serve %d models: %s…\n", n, step)
		resetPeakRSS(srv)
		// A short warm-up at the step's own concurrency, not measured.
		c.load(context.Background(), o.clients, o.duration/10, func(int) string { return base + path })
		r := c.load(context.Background(), o.clients, o.duration, func(int) string { return base + path })
		r.mustSucceed(step, srvLog)
		rows = append(rows, []string{label, step, fmtDur(r.elapsed), peakRSS(srv),
			fmt.Sprintf("p50 %s, p99 %s, %.0f/s (%d requests, %d clients); %s", fmtMs(r.quantile(0.5)), fmtMs(r.quantile(0.99)),
				r.rate(), len(r.lat), o.clients, what), target})
	}

	// (a), (b): counts at rest.
	latencyRow("serve: count (mid family)", "/api/v1/count?model="+url.QueryEscape(mid),
		fmt.Sprintf("%d descendants of %s", midSize, mid), "p99 < 50 ms at 1M")
	latencyRow("serve: count (largest family)", "/api/v1/count?model="+url.QueryEscape(root),
		fmt.Sprintf("%d descendants of %s", rootSize, root), "p99 < 150 ms at 1M")

	// (c): counts while a crawl writes: a walk of base 3 against the same
	// Hub, into the served database.
	seed := fmt.Sprintf("base-org-%d/Base-Model-%d", min(3, bases-1), min(3, bases-1))
	rows = append(rows, countsDuringCrawl(c, base, srv, srvLog, label, seed, mid, midSize, o.writers, o.window))

	// (d): search.
	for _, q := range searches {
		path := "/api/v1/search?q=" + url.QueryEscape(q)
		var h struct{ Results []json.RawMessage }
		check(json.Unmarshal(get(path, time.Minute), &h))
		latencyRow(fmt.Sprintf("serve: search %q", q), path, fmt.Sprintf("%d results", len(h.Results)), "p99 < 50 ms")
	}
	return rows
}

// startServe starts `hflineage serve` on db with env, its output in
// srvLog, and returns once it answers /healthz: the process, its base URL,
// and what stops it.
func startServe(hfl, db, addrFile, srvLog string, env []string, extra ...string) (*exec.Cmd, string, func()) {
	os.Remove(addrFile)
	srv := exec.Command(hfl, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--addr-file", addrFile}, extra...)...)
	srv.Env = env
	logf, err := os.Create(srvLog)
	check(err)
	srv.Stdout, srv.Stderr = logf, logf
	stopSrv := startChild(srv, "hflineage serve")
	stop := func() { stopSrv(); logf.Close() }
	base := "http://" + waitAddrFile(addrFile, srv, time.Minute, "hflineage serve (log: "+srvLog+")")
	c := newClient(1)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := c.get(base+"/healthz", 5*time.Second); err == nil {
			// The server's session token, for POSTs (serve.token, its user's only).
			tok, err := os.ReadFile(filepath.Join(db, "serve.token"))
			check(err)
			serveToken = strings.TrimSpace(string(tok))
			return srv, base, stop
		} else if time.Now().After(deadline) {
			stop()
			fatalf("serve: /healthz: %v (server log: %s)", err, srvLog)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// serveToken is the running server's session token (startServe).
var serveToken string

// countsDuringCrawl starts a walk of seed through POST /api/v1/crawl and
// counts the mid family with writers clients until the crawl ends or for
// window, whichever comes first; then it waits for the crawl to end.
func countsDuringCrawl(c *client, base string, srv *exec.Cmd, srvLog, label, seed, mid string, midSize, writers int, window time.Duration) []string {
	fmt.Fprintf(os.Stderr, "bench: serve: counting while walking %s…\n", seed)
	type status struct {
		Running *struct {
			Models int64 `json:"models"`
			Pages  int64 `json:"pages"`
		} `json:"running"`
		Queue []json.RawMessage `json:"queue"`
		Last  *struct {
			Run      uint64 `json:"run"`
			Complete bool   `json:"complete"`
			Requests int64  `json:"requests"`
		} `json:"last"`
	}
	crawlStatus := func() status {
		var st status
		b, err := c.get(base+"/api/v1/crawl", 30*time.Second)
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			fatalf("serve: GET /api/v1/crawl: %v (server log: %s)", err, srvLog)
		}
		return st
	}
	before := uint64(0)
	if st := crawlStatus(); st.Last != nil {
		before = st.Last.Run
	}
	resetPeakRSS(srv)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan loadResult, 1)
	path := base + "/api/v1/count?model=" + url.QueryEscape(mid)
	go func() { done <- c.load(ctx, writers, window, func(int) string { return path }) }()
	start := time.Now()

	body := fmt.Sprintf(`{"seeds":[%q],"mode":"walk"}`, seed)
	if _, err := c.post(base+"/api/v1/crawl", body); err != nil {
		stop()
		<-done
		fatalf("serve: POST /api/v1/crawl: %v (server log: %s)", err, srvLog)
	}
	deadline := time.Now().Add(20 * time.Minute)
	var last status
	var models int64
	var r loadResult
	counting := true
	for {
		time.Sleep(100 * time.Millisecond)
		if counting {
			select {
			case r = <-done: // the window is over; the crawl goes on
				counting = false
			default:
			}
		}
		last = crawlStatus()
		if last.Running != nil {
			models = max(models, last.Running.Models)
		}
		if last.Running == nil && len(last.Queue) == 0 && last.Last != nil && last.Last.Run > before {
			break
		}
		if time.Now().After(deadline) {
			stop()
			fatalf("serve: the walk of %s did not finish within 20 minutes (server log: %s)", seed, srvLog)
		}
	}
	crawlTime := time.Since(start)
	if counting {
		stop()
		r = <-done
	}
	r.mustSucceed("serve: count during crawl", srvLog)
	if !last.Last.Complete {
		fatalf("serve: the walk of %s did not complete (server log: %s)", seed, srvLog)
	}
	return []string{label, "serve: count during a crawl", fmtDur(r.elapsed), peakRSS(srv),
		fmt.Sprintf("%.0f counts/s (%d clients; p50 %s, p99 %s) of %s (%d), counted for the walk's first %s of %s (%s, %d models, %d requests)",
			r.rate(), writers, fmtMs(r.quantile(0.5)), fmtMs(r.quantile(0.99)), mid, midSize, fmtDur(r.elapsed), fmtDur(crawlTime),
			seed, models, last.Last.Requests),
		"≥ 1,000/s"}
}

// client is the load generator's HTTP client.
type client struct{ hc *http.Client }

func newClient(conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	tr.Proxy = nil // loopback
	return &client{hc: &http.Client{Transport: tr}}
}

// get fetches u, failing on any status but 200.
func (c *client) get(u string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.do(ctx, http.MethodGet, u, "")
}

func (c *client) post(u, body string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.do(ctx, http.MethodPost, u, body)
}

func (c *client) do(ctx context.Context, method, u, body string) ([]byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+serveToken)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// loadResult is what one load run saw.
type loadResult struct {
	lat      []time.Duration // each successful request's latency, sorted
	failures int
	firstErr error
	elapsed  time.Duration
}

func (r loadResult) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(math.Ceil(q*float64(len(r.lat))))-1)]
}

func (r loadResult) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// mustSucceed stops the benchmark when requests failed.
func (r loadResult) mustSucceed(step, srvLog string) {
	if r.failures > 0 || len(r.lat) == 0 {
		fatalf("%s: %d of %d requests failed, the first: %v (server log: %s)", step, r.failures, r.failures+len(r.lat), r.firstErr, srvLog)
	}
}

// perRequestTimeout bounds one request of a load run.
const perRequestTimeout = 30 * time.Second

// load runs workers clients, each sending the next URL as soon as its last
// answer is read, for d or until ctx ends, and records every latency.
func (c *client) load(ctx context.Context, workers int, d time.Duration, next func(i int) string) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var res loadResult
	var seq atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var fails int
			var first error
			for ctx.Err() == nil {
				u := next(int(seq.Add(1)))
				rctx, rcancel := context.WithTimeout(context.Background(), perRequestTimeout)
				t := time.Now()
				_, err := c.do(rctx, http.MethodGet, u, "")
				el := time.Since(t)
				rcancel()
				if err != nil {
					fails++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, el)
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.failures += fails
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	return res
}

// children are the processes started by the benchmark, stopped when it
// ends, also on a fatal error or a signal.
var children struct {
	sync.Mutex
	procs  map[*exec.Cmd]string
	exited []string // children that ended before being stopped, and how
}

// startChild starts cmd (it dies with the benchmark: Pdeathsig) and returns
// a function that stops it: SIGTERM, then SIGKILL after 15 s.
func startChild(cmd *exec.Cmd, what string) func() {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fatalf("starting %s: %v", what, err)
	}
	children.Lock()
	if children.procs == nil {
		children.procs = map[*exec.Cmd]string{}
	}
	children.procs[cmd] = what
	children.Unlock()
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		children.Lock()
		if _, running := children.procs[cmd]; running { // not stopped by us
			delete(children.procs, cmd)
			children.exited = append(children.exited, fmt.Sprintf("%s (pid %d) exited unexpectedly: %v", what, cmd.Process.Pid, cmp.Or(err, errors.New("status 0"))))
		}
		children.Unlock()
		close(exited)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			children.Lock()
			delete(children.procs, cmd)
			children.Unlock()
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				fmt.Fprintf(os.Stderr, "bench: %s did not stop within 15 s of SIGTERM: killed\n", what)
				cmd.Process.Kill()
				<-exited
			}
		})
	}
}

// killChildren kills every child still running (on a fatal error or a
// signal) and says which had ended by themselves (often the real cause).
func killChildren() {
	children.Lock()
	defer children.Unlock()
	for _, e := range children.exited {
		fmt.Fprintf(os.Stderr, "bench: %s\n", e)
	}
	for cmd := range children.procs {
		cmd.Process.Kill()
	}
}

// startHubsim serves a fake Hub with args and returns its base URL.
func startHubsim(bin, work, name string, args ...string) (string, func()) {
	addrFile := filepath.Join(work, "addr-"+name)
	os.Remove(addrFile)
	hub := exec.Command(filepath.Join(bin, "hubsim"), append([]string{"--addr", "127.0.0.1:0", "--addr-file", addrFile}, args...)...)
	hub.Stderr = os.Stderr
	stop := startChild(hub, "hubsim")
	return waitAddrFile(addrFile, hub, 5*time.Minute, "hubsim"), stop
}

// waitAddrFile waits for a child to write its address, failing when it
// exits first or takes longer than timeout.
func waitAddrFile(file string, cmd *exec.Cmd, timeout time.Duration, what string) string {
	start := time.Now()
	for {
		if b, err := os.ReadFile(file); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return strings.TrimSpace(string(b))
		}
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil && errors.Is(err, os.ErrProcessDone) {
			fatalf("%s exited before listening", what)
		}
		if time.Since(start) > timeout {
			fatalf("%s did not write %s within %s", what, file, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// resetPeakRSS resets the child's peak resident set (Linux: clear_refs 5),
// so that peakRSS reports the step's own peak.
func resetPeakRSS(cmd *exec.Cmd) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS is the child's peak resident set (VmHWM).
func peakRSS(cmd *exec.Cmd) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return "-"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "-"
}

func fmtMs(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
