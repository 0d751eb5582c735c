package main

// The live table (--live-size): issue 18's targets. One `hflineage serve`
// on an empty database crawls a generated Hub while a client reads in a
// loop (count of the largest family, search, children, graph of 150 nodes,
// stats), in three phases: the first scan, idle after it, and a --full
// rescan after the Hub churns. Each read's latency is recorded by kind, with
// serve's peak RSS per phase, how stale stats got, and, after each crawl,
// whether the served counts equal what the Hub declares.
//
// hubsim cannot change its world while serving, so the Hub here is this
// benchmark's own binary run as a child (liveHubMain): the same
// hubtest.Server and generated world as `hubsim --models N` (seed 1, pages
// of 1,000), plus two routes under /_bench/ that hflineage never asks for:
// the lineage the world declares, and World.Churn.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// liveHubEnv, set in a child's environment, makes this binary the churnable
// fake Hub (liveHubMain) instead of the benchmark.
const liveHubEnv = "HFLINEAGE_BENCH_LIVE_HUB"

// liveOptions shape the live table.
type liveOptions struct {
	idle    time.Duration // how long the idle phase reads
	clients int           // concurrent reading clients
	hubPID  int           // the fake Hub's process (for its CPU time)
}

// hubExpect is what the Hub's world declares: its lineage's sizes and the
// count of the largest family as graph.Family.Count computes it.
type hubExpect struct {
	Models      int                  `json:"models"`
	Edges       int                  `json:"edges"`
	Dangling    int                  `json:"dangling_parents"`
	Children    graph.RelationCounts `json:"children"`
	Descendants graph.RelationCounts `json:"descendants"`
	MaxDepth    int                  `json:"max_depth"`
}

// liveHubMain serves the churnable fake Hub: --models N (seed 1, as
// hubsim's default), its base URL written to --addr-file. GET
// /_bench/lineage answers the world's hubExpect; POST
// /_bench/churn?added=A&removed=R churns the world (World.Churn, the models
// created a day after the generated ones) and answers the new hubExpect.
func liveHubMain(args []string) {
	flags := flag.NewFlagSet("live-hub", flag.ExitOnError)
	models := flags.Int("models", 10000, "models")
	addrFile := flags.String("addr-file", "", "write the base URL here")
	flags.Parse(args)
	w := hubtest.Generate(hubtest.GenOptions{Models: *models, Seed: 1})
	hub := &hubtest.Server{World: w, MaxPageSize: 1000}
	var mu sync.Mutex // one churn at a time
	at := hubtest.GeneratedUntil.Add(24 * time.Hour)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_bench/lineage", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(rw).Encode(expectOf(w))
	})
	mux.HandleFunc("POST /_bench/churn", func(rw http.ResponseWriter, r *http.Request) {
		added, err1 := strconv.Atoi(r.URL.Query().Get("added"))
		removed, err2 := strconv.Atoi(r.URL.Query().Get("removed"))
		if err := errors.Join(err1, err2); err != nil || added < 0 || removed < 0 {
			http.Error(rw, "added and removed must be counts", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		before := w.Len()
		w.Churn(added, removed, at)
		at = at.Add(24 * time.Hour)
		fmt.Fprintf(os.Stderr, "live hub: churned: %d models, now %d\n", before, w.Len())
		json.NewEncoder(rw).Encode(expectOf(w))
	})
	mux.Handle("/", hub)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "live hub:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*addrFile, []byte("http://"+ln.Addr().String()+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "live hub:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "live hub: serving %d models on http://%s\n", w.Len(), ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "live hub:", err)
		os.Exit(1)
	}
}

// expectOf computes the world's hubExpect: its lineage (public models,
// their tags' edges, dangling parents) and the family of root as
// graph.Family.Count counts it (members reached over every relation;
// Descendants.R: distinct members with an R edge from a member; Children.R:
// distinct direct children by R, Total: distinct direct children; the depth
// is the shortest distance).
func expectOf(w *hubtest.World) hubExpect {
	l := w.Lineage()
	e := hubExpect{Models: len(l.Models), Edges: len(l.Edges), Dangling: len(l.Dangling)}
	out := map[graph.ModelID][]graph.Edge{}
	for ed := range l.Edges {
		out[ed.Parent] = append(out[ed.Parent], ed)
	}
	r := graph.ModelID(root)
	depth := map[graph.ModelID]int{r: 0}
	queue := []graph.ModelID{r}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, ed := range out[m] {
			if _, seen := depth[ed.Child]; !seen {
				depth[ed.Child] = depth[m] + 1
				e.MaxDepth = max(e.MaxDepth, depth[m]+1)
				queue = append(queue, ed.Child)
			}
		}
	}
	direct := map[graph.ModelID]bool{}
	for _, ed := range out[r] {
		if ed.Child != r { // l.Edges holds each (parent, child, relation) once
			direct[ed.Child] = true
			addRelation(&e.Children, ed.Relation)
		}
	}
	e.Children.Total = len(direct)
	e.Descendants = distinctByRelation(out, depth, r, len(depth)-1)
	return e
}

// distinctByRelation counts, for each relation, the distinct members with
// an edge of that relation from a member (root excepted).
func distinctByRelation(out map[graph.ModelID][]graph.Edge, members map[graph.ModelID]int, r graph.ModelID, total int) graph.RelationCounts {
	type key struct {
		id  graph.ModelID
		rel graph.Relation
	}
	seen := map[key]bool{}
	c := graph.RelationCounts{Total: total}
	for m := range members {
		for _, ed := range out[m] {
			if ed.Child == r || seen[key{ed.Child, ed.Relation}] {
				continue
			}
			seen[key{ed.Child, ed.Relation}] = true
			addRelation(&c, ed.Relation)
		}
	}
	return c
}

func addRelation(c *graph.RelationCounts, r graph.Relation) {
	switch r {
	case graph.Adapter:
		c.Adapter++
	case graph.Finetune:
		c.Finetune++
	case graph.Merge:
		c.Merge++
	case graph.Quantized:
		c.Quantized++
	}
}

// startLiveHub starts the churnable fake Hub of n models (this binary, as
// a child) and returns its base URL.
func startLiveHub(work string, n int) (string, int, func()) {
	exe, err := os.Executable()
	check(err)
	addrFile := filepath.Join(work, "addr-live")
	os.Remove(addrFile)
	hub := exec.Command(exe, "--models", strconv.Itoa(n), "--addr-file", addrFile)
	hub.Env = append(os.Environ(), liveHubEnv+"=1")
	hub.Stderr = os.Stderr
	stop := startChild(hub, "live hub")
	return waitAddrFile(addrFile, hub, 5*time.Minute, "live hub"), hub.Process.Pid, stop
}

// liveRead is one kind of read of the loop, with issue 18's p99 targets.
type liveRead struct {
	name, path          string
	duringCrawl, atRest time.Duration
	before              [3]string // issue 18's p99 at 1M: first scan, idle, rescan
}

var liveReads = []liveRead{
	{"count", "/api/v1/count?model=" + url.QueryEscape(root), 100 * time.Millisecond, 20 * time.Millisecond, [3]string{"1,253 ms", "13 ms", "4,941 ms"}},
	{"search", "/api/v1/search?q=model-12", 100 * time.Millisecond, 20 * time.Millisecond, [3]string{"6,617 ms", "2 ms", "7,463 ms"}},
	{"children", "/api/v1/children?model=" + url.QueryEscape(root), 100 * time.Millisecond, 20 * time.Millisecond, [3]string{"393 ms", "116 ms", "609 ms"}},
	{"graph", "/api/v1/graph?model=" + url.QueryEscape(root) + "&max-nodes=150", 100 * time.Millisecond, 20 * time.Millisecond, [3]string{"3,797 ms", "563 ms", "2,252 ms"}},
	{"stats", "/api/v1/stats", time.Second, 200 * time.Millisecond, [3]string{"15,025 ms", "496 ms", "14,434 ms"}},
	// Issue 21's reads of a watched family (no figures before them).
	{"changes", "/api/v1/changes?model=" + url.QueryEscape(root), time.Second, 200 * time.Millisecond, [3]string{"new", "new", "new"}},
	{"feed", "/feeds/changes.atom?model=" + url.QueryEscape(root), time.Second, 200 * time.Millisecond, [3]string{"new", "new", "new"}},
	{"licenses", "/api/v1/licenses?model=" + url.QueryEscape(root), time.Second, 200 * time.Millisecond, [3]string{"new", "new", "new"}},
	{"badge", "/badge/" + root + ".svg", 100 * time.Millisecond, 20 * time.Millisecond, [3]string{"new", "new", "new"}},
}

// liveReadTimeout bounds one read: longer is a failure.
const liveReadTimeout = 60 * time.Second

// kindResult is what a phase saw of one kind of read.
type kindResult struct {
	lat         []time.Duration // every answer's latency (4xx included)
	ok          []time.Duration // the 200 answers' latencies
	answered4xx int
	failures    int // 5xx, timeouts, transport errors
	firstErr    string
	firstFail   string
}

// phaseResult is what one phase saw.
type phaseResult struct {
	name      string
	crawling  bool
	mu        sync.Mutex
	kinds     []kindResult
	rounds    int
	elapsed   time.Duration
	rss       string
	crawl     string    // the crawl's duration and rate
	dataVer   uint64    // the largest data_version a stats answer named
	minVer    uint64    // the smallest (an absent key: 0)
	statsMods [2]int    // the fewest and most models a stats answer counted
	behind    uint64    // the largest versions_behind
	behindN   int       // stats answers with versions_behind > 0
	statsN    int       // stats answers
	verKeys   bool      // a stats answer carried data_version
	lastCount int       // the last count's descendants.total
	countDown int       // counts lower than the one before (first scan: a page seen in part?)
	cpu       string    // CPU seconds of serve, the Hub, this client and everything else
	run       uint64    // the crawl's run (0: none, or no crawl)
	ended     time.Time // when the crawl was seen finished
}

// benchLive runs the live table on a Hub of n models and prints it.
func benchLive(bin, work string, n int, o liveOptions) {
	loadStart := loadAvg()
	label := fmt.Sprintf("%.1fM", float64(n)/1e6)
	fmt.Fprintf(os.Stderr, "bench: live %d models: load average %s; generating the Hub…\n", n, loadStart)
	hubURL, hubPID, stopHub := startLiveHub(work, n)
	o.hubPID = hubPID
	defer stopHub()
	hc := newClient(o.clients + 2)
	hubGet := func(method, path string) hubExpect {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b, err := hc.do(ctx, method, hubURL+path, "")
		check(err)
		var e hubExpect
		check(json.Unmarshal(b, &e))
		return e
	}
	expect := hubGet(http.MethodGet, "/_bench/lineage")

	db := filepath.Join(work, fmt.Sprintf("livedb-%d", n))
	check(os.MkdirAll(db, 0o755))
	srvLog := filepath.Join(work, "live-serve.log")
	hooks := startHookReceiver() // serve's webhook target: what each crawl changed in the family
	defer hooks.close()
	srv, base, stopSrv := startServe(filepath.Join(bin, "hflineage"), db, filepath.Join(work, "live-serve-addr"), srvLog,
		append(withoutEnv(os.Environ(), "HFLINEAGE_SERVE_TOKEN", "HFLINEAGE_DB", "HFLINEAGE_WEBHOOK_SECRET"), "HF_ENDPOINT="+hubURL,
			"HFLINEAGE_WEBHOOK_SECRET="+benchWebhookSecret),
		"--webhook", hooks.url, "--watch", root)
	defer stopSrv()

	var phases []*phaseResult
	checks := []string{}
	verify := func(when string, e hubExpect) {
		checks = append(checks, fmt.Sprintf("%s: %s", when, checkServed(hc, base, srvLog, e)))
	}

	// First scan.
	first := livePhase(hc, base, srv, srvLog, "first scan", `{"all":true}`, 0, o)
	phases = append(phases, first)
	verify("after the first scan", expect)
	hookRows := [][]string{hookRow(hooks, first.name, first.run, first.ended, expect, 0)}

	// Idle.
	phases = append(phases, livePhase(hc, base, srv, srvLog, "idle, after the scan", "", o.idle, o))

	// Churn, then a full rescan.
	added, removed := max(1, 3000*n/1000000), max(1, 300*n/1000000)
	fmt.Fprintf(os.Stderr, "bench: live: churning the Hub: %d new, %d removed models…\n", added, removed)
	churned := hubGet(http.MethodPost, fmt.Sprintf("/_bench/churn?added=%d&removed=%d", added, removed))
	rescan := livePhase(hc, base, srv, srvLog, fmt.Sprintf("--full rescan after churn (+%d, -%d)", added, removed), `{"all":true,"full":true}`, 0, o)
	phases = append(phases, rescan)
	verify("after the rescan", churned)
	hookRows = append(hookRows, hookRow(hooks, rescan.name, rescan.run, rescan.ended, churned, expect.Descendants.Total))
	loadEnd := loadAvg()

	// The tables.
	fmt.Printf("\nlive: `hflineage serve` on an empty database, %s-model generated Hub, %d reading client(s), round-robin %s\n",
		label, o.clients, strings.Join(readNames(), ", "))
	fmt.Printf("load average at start: %s; at end: %s\n\n", loadStart, loadEnd)
	var rows [][]string
	for pi, p := range phases {
		for k, r := range liveReads {
			kr := p.kinds[k]
			slices.Sort(kr.lat)
			slices.Sort(kr.ok)
			target := r.atRest
			if p.crawling {
				target = r.duringCrawl
			}
			q99 := quantileOf(kr.lat, 0.99)
			met := "yes"
			if len(kr.lat) == 0 || q99 > target || kr.failures > 0 {
				met = "NO"
			}
			errs := strconv.Itoa(kr.answered4xx)
			if kr.firstErr != "" {
				errs += " (" + kr.firstErr + ")"
			}
			fails := strconv.Itoa(kr.failures)
			if kr.firstFail != "" {
				fails += " (" + kr.firstFail + ")"
			}
			before := r.before[min(pi, 2)]
			okq := "-"
			if len(kr.ok) > 0 {
				okq = fmt.Sprintf("%s / %s (%d)", fmtMs(quantileOf(kr.ok, 0.5)), fmtMs(quantileOf(kr.ok, 0.99)), len(kr.ok))
			}
			rows = append(rows, []string{p.name, r.name, strconv.Itoa(len(kr.lat)), fmtMs(quantileOf(kr.lat, 0.5)), fmtMs(q99),
				fmtMs(quantileOf(kr.lat, 1)), errs, fails, okq, "≤ " + fmtMs(target), met, before})
		}
	}
	printTable([]string{"phase", "read", "answers", "p50", "p99", "max", "4xx answers", "failures (5xx, timeouts)", "200s alone: p50 / p99 (n)",
		"target p99", "met", "p99 in issue 18 (1M)"}, rows)
	fmt.Println()
	rows = rows[:0]
	for _, p := range phases {
		stale := "-"
		if p.verKeys || p.behindN > 0 {
			stale = fmt.Sprintf("data_version %d–%d (absent: 0), describing %d–%d models; versions_behind max %d (%d of %d answers behind)",
				p.minVer, p.dataVer, p.statsMods[0], p.statsMods[1], p.behind, p.behindN, p.statsN)
		} else if p.statsN > 0 {
			stale = fmt.Sprintf("no data_version/versions_behind keys in %d answers", p.statsN)
		}
		notes := ""
		if p.name == "first scan" {
			notes = fmt.Sprintf("the count of %s fell %d times", root, p.countDown)
		}
		rows = append(rows, []string{p.name, fmtDur(p.elapsed), strconv.Itoa(p.rounds), p.crawl, p.rss, p.cpu, stale, notes})
	}
	printTable([]string{"phase", "time", "rounds", "crawl", "serve peak RSS (target ≤ 1 GiB at 3M)", "CPU time", "stats staleness", "notes"}, rows)
	fmt.Println()
	fmt.Printf("webhooks: serve --webhook (a receiver in this process) --watch %s, signed with HFLINEAGE_WEBHOOK_SECRET\n\n", root)
	printTable([]string{"after", "run", "came after the run's recorded end", "size", "added / removed", "members", "truncated", "signature and counts agree"}, hookRows)
	fmt.Println()
	for _, c := range checks {
		fmt.Println("counts " + c)
	}
	fmt.Printf("database on disk: %s; serve log: %s (removed with the work directory unless --keep)\n", dirSize(db), srvLog)
}

// livePhase reads in the loop for one phase: while the crawl body POSTs
// runs, or for d when body is "".
func livePhase(c *client, base string, srv *exec.Cmd, srvLog, name, body string, d time.Duration, o liveOptions) *phaseResult {
	p := &phaseResult{name: name, crawling: body != "", kinds: make([]kindResult, len(liveReads)), lastCount: -1}
	fmt.Fprintf(os.Stderr, "bench: live: %s…\n", name)
	resetPeakRSS(srv)
	cpu0 := cpuNow(srv.Process.Pid, o.hubPID)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			liveReader(ctx, c, base, p, i)
		}()
	}
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	report := func(extra string) {
		p.mu.Lock()
		n := 0
		for _, k := range p.kinds {
			n += len(k.lat) + k.failures
		}
		rounds := p.rounds
		p.mu.Unlock()
		fmt.Fprintf(os.Stderr, "bench: live: %s: %s, %d reads, %d rounds%s; load %s\n", name, fmtDur(time.Since(start)), n, rounds, extra, loadAvg())
	}
	if body == "" {
		end := time.After(d)
	idle:
		for {
			select {
			case <-end:
				break idle
			case <-progress.C:
				report("")
			}
		}
	} else {
		id := postCrawl(c, base, body, srvLog)
		crawlStart := time.Now()
		var models int64
		var out *crawlOutcome
		for out == nil {
			time.Sleep(500 * time.Millisecond)
			st, err := crawlState(c, base)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: live: GET /api/v1/crawl: %v\n", err)
			} else {
				if st.Running != nil && st.Running.ID == id {
					models = max(models, st.Running.Models)
				}
				for _, f := range st.Finished {
					if f.ID == id {
						out = &f
					}
				}
			}
			if time.Since(crawlStart) > 60*time.Minute {
				fatalf("live: %s did not finish within an hour (server log: %s)", name, srvLog)
			}
			select {
			case <-progress.C:
				report(fmt.Sprintf(", crawl at %d models", models))
			default:
			}
		}
		took := time.Since(crawlStart)
		if !out.Complete {
			fatalf("live: %s did not complete: %s (server log: %s)", name, out.Error, srvLog)
		}
		p.crawl = fmt.Sprintf("%s, %d models, %.0f models/s, %d requests", fmtDur(took), out.Models, float64(out.Models)/took.Seconds(), out.Requests)
		p.run, p.ended = out.Run, time.Now()
	}
	stop()
	wg.Wait() // the reads under way finish
	p.elapsed = time.Since(start)
	p.rss = peakRSS(srv)
	p.cpu = cpuNow(srv.Process.Pid, o.hubPID).since(cpu0, p.elapsed)
	report(" (end)")
	return p
}

// liveReader reads round-robin until ctx ends, starting at kind i.
func liveReader(ctx context.Context, c *client, base string, p *phaseResult, i int) {
	done := 0
	for k := i % len(liveReads); ctx.Err() == nil; k = (k + 1) % len(liveReads) {
		r := liveReads[k]
		rctx, cancel := context.WithTimeout(context.Background(), liveReadTimeout)
		t := time.Now()
		status, b, err := getStatus(rctx, c, base+r.path)
		el := time.Since(t)
		cancel()
		p.mu.Lock()
		kr := &p.kinds[k]
		switch {
		case err != nil || status >= 500:
			kr.failures++
			if kr.firstFail == "" {
				kr.firstFail = oneLineErr(status, b, err)
			}
		default:
			kr.lat = append(kr.lat, el)
			if status >= 400 {
				kr.answered4xx++
				if kr.firstErr == "" {
					kr.firstErr = strconv.Itoa(status)
				}
			} else {
				kr.ok = append(kr.ok, el)
				p.sawAnswer(r.name, b)
			}
		}
		if done++; done%len(liveReads) == 0 {
			p.rounds++
		}
		p.mu.Unlock()
	}
}

// sawAnswer notes what a successful answer says (p.mu held): stats' data
// version and how far behind it is, counts going down.
func (p *phaseResult) sawAnswer(kind string, b []byte) {
	switch kind {
	case "stats":
		var s struct {
			DataVersion    *uint64 `json:"data_version"`
			VersionsBehind *uint64 `json:"versions_behind"`
			Models         int     `json:"models"`
		}
		if json.Unmarshal(b, &s) != nil {
			return
		}
		v := uint64(0)
		if s.DataVersion != nil {
			p.verKeys = true
			v = *s.DataVersion
		}
		if p.statsN == 0 {
			p.minVer, p.statsMods = v, [2]int{s.Models, s.Models}
		}
		p.statsN++
		p.dataVer, p.minVer = max(p.dataVer, v), min(p.minVer, v)
		p.statsMods = [2]int{min(p.statsMods[0], s.Models), max(p.statsMods[1], s.Models)}
		if s.VersionsBehind != nil && *s.VersionsBehind > 0 {
			p.behindN++
			p.behind = max(p.behind, *s.VersionsBehind)
		}
	case "count":
		var c struct {
			Descendants struct{ Total int } `json:"descendants"`
		}
		if json.Unmarshal(b, &c) != nil {
			return
		}
		if c.Descendants.Total < p.lastCount {
			p.countDown++
		}
		p.lastCount = c.Descendants.Total
	}
}

func getStatus(ctx context.Context, c *client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func oneLineErr(status int, b []byte, err error) string {
	s := ""
	if err != nil {
		s = err.Error()
	} else {
		s = fmt.Sprintf("%d %s", status, strings.Join(strings.Fields(string(b)), " "))
	}
	if len(s) > 80 {
		s = s[:77] + "…"
	}
	return s
}

// crawlOutcome and crawlStatus are what GET /api/v1/crawl says (the keys
// this benchmark reads).
type crawlOutcome struct {
	ID       int    `json:"id"`
	Run      uint64 `json:"run"`
	Complete bool   `json:"complete"`
	Error    string `json:"error"`
	Models   int64  `json:"models"`
	Requests int64  `json:"requests"`
}

type crawlStatus struct {
	Running *struct {
		ID     int   `json:"id"`
		Models int64 `json:"models"`
	} `json:"running"`
	Finished []crawlOutcome `json:"finished"`
}

func crawlState(c *client, base string) (crawlStatus, error) {
	var st crawlStatus
	b, err := c.get(base+"/api/v1/crawl", liveReadTimeout)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

func postCrawl(c *client, base, body, srvLog string) int {
	b, err := c.post(base+"/api/v1/crawl", body)
	if err != nil {
		fatalf("live: POST /api/v1/crawl %s: %v (server log: %s)", body, err, srvLog)
	}
	var q struct {
		Queued int `json:"queued"`
	}
	check(json.Unmarshal(b, &q))
	return q.Queued
}

// checkServed compares the served count of the largest family and stats'
// sizes with the Hub's; stats is asked until it describes the last data
// version. A difference stops the benchmark.
func checkServed(c *client, base, srvLog string, e hubExpect) string {
	b, err := c.get(base+"/api/v1/count?model="+url.QueryEscape(root), liveReadTimeout)
	if err != nil {
		fatalf("live: count: %v (server log: %s)", err, srvLog)
	}
	var got struct {
		Children    graph.RelationCounts `json:"children"`
		Descendants graph.RelationCounts `json:"descendants"`
		MaxDepth    int                  `json:"max_depth"`
	}
	check(json.Unmarshal(b, &got))
	var diffs []string
	if got.Descendants != e.Descendants {
		diffs = append(diffs, fmt.Sprintf("descendants %+v, the Hub's %+v", got.Descendants, e.Descendants))
	}
	if got.Children != e.Children {
		diffs = append(diffs, fmt.Sprintf("children %+v, the Hub's %+v", got.Children, e.Children))
	}
	if got.MaxDepth != e.MaxDepth {
		diffs = append(diffs, fmt.Sprintf("max_depth %d, the Hub's %d", got.MaxDepth, e.MaxDepth))
	}
	var st struct {
		Models         int     `json:"models"`
		Edges          int     `json:"edges"`
		Dangling       int     `json:"dangling_parents"`
		VersionsBehind *uint64 `json:"versions_behind"`
	}
	waited := time.Now()
	for {
		b, err := c.get(base+"/api/v1/stats", liveReadTimeout)
		if err != nil {
			fatalf("live: stats: %v (server log: %s)", err, srvLog)
		}
		st.VersionsBehind = nil
		check(json.Unmarshal(b, &st))
		if st.VersionsBehind == nil || *st.VersionsBehind == 0 || time.Since(waited) > 2*time.Minute {
			break
		}
		time.Sleep(time.Second)
	}
	if st.VersionsBehind != nil && *st.VersionsBehind > 0 {
		diffs = append(diffs, fmt.Sprintf("stats still %d versions behind after 2 minutes", *st.VersionsBehind))
	}
	if st.Models != e.Models || st.Edges != e.Edges || st.Dangling != e.Dangling {
		diffs = append(diffs, fmt.Sprintf("stats %d models, %d edges, %d dangling parents; the Hub's %d, %d, %d",
			st.Models, st.Edges, st.Dangling, e.Models, e.Edges, e.Dangling))
	}
	if len(diffs) > 0 {
		fatalf("live: served counts differ from the Hub's: %s (server log: %s)", strings.Join(diffs, "; "), srvLog)
	}
	return fmt.Sprintf("equal the Hub's: %s has %d descendants (%d children, depth %d); stats %d models, %d edges, %d dangling parents (stats %s after the crawl)",
		root, got.Descendants.Total, got.Children.Total, got.MaxDepth, st.Models, st.Edges, st.Dangling, fmtDur(time.Since(waited)))
}

func quantileOf(lat []time.Duration, q float64) time.Duration {
	return loadResult{lat: lat}.quantile(q)
}

func readNames() []string {
	var out []string
	for _, r := range liveReads {
		out = append(out, r.name)
	}
	return out
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

func dirSize(dir string) string {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// cpuTimes are CPU seconds used so far: by serve, by the fake Hub, by this
// process (the reading client), and by the whole machine (/proc/stat,
// idle and iowait excepted).
type cpuTimes struct{ serve, hub, self, machine float64 }

func cpuNow(servePID, hubPID int) cpuTimes {
	t := cpuTimes{serve: procCPU(strconv.Itoa(servePID)), hub: procCPU(strconv.Itoa(hubPID)), self: procCPU("self")}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is in user already
				continue
			}
			x, _ := strconv.ParseFloat(v, 64)
			t.machine += x / clockTicks
		}
	}
	return t
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// procCPU is a process's user and system CPU seconds (/proc/PID/stat).
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b)[i+1:]) // state is f[0]; utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks
}

// since says how the CPU seconds since t0 split over elapsed wall time.
func (t cpuTimes) since(t0 cpuTimes, elapsed time.Duration) string {
	serve, hub, self := t.serve-t0.serve, t.hub-t0.hub, t.self-t0.self
	other := max(0, (t.machine-t0.machine)-serve-hub-self)
	return fmt.Sprintf("serve %.0f s, Hub %.0f s, client %.0f s, other processes %.0f s (of %d cores × %s)",
		serve, hub, self, other, runtime.NumCPU(), fmtDur(elapsed))
}
