// Command bench measures hflineage at Hub scale on this machine and prints
// a table: it generates synthetic Hubs with the real shape (the
// crawler/hubtest generator, served by cmd/hubsim), crawls them with
// `crawl --all`, then times cold-process count of the largest family,
// stats and exports, with peak RSS and the crawl's requests against the
// lower bound, and answers the same count with networkx for comparison.
// On the 1M-model Hub (--serve-size) it then measures `hflineage serve`
// with a load generator of its own: count and search latencies, and counts
// per second while a crawl writes (serve.go). Before the Hubs, it runs the
// store's ingest benchmarks and checks full, incremental and reconciling
// scans of a 200,000-model Hub in-process (scan.go; the crawler's tests run
// them at 20,000). The target column holds issue 13's targets.
//
//	go run ./scripts/bench                 # 1M and 3M models, the server at 1M
//	go run ./scripts/bench --sizes 200000  # a quick run (the server at 200k)
//	go run ./scripts/bench --sizes ""      # ingest, scans at 200k and the pacing table
//	go run ./scripts/bench --sizes "" --pacing=false --serve-size 0  # ingest and the 200k scans alone
//	go run ./scripts/bench --sizes "" --pacing=false --serve-size 200000 --scan-size 0 --ingest=false  # the server table alone
//	go run ./scripts/bench --sizes "" --pacing=false --serve-size 0 --scan-size 0 --ingest=false --live-size 1000000  # issue 18's live table alone
//
// --export-storm-size N adds issue 20's export storm (storm.go): 200
// clients asking serve at once for the whole database's GraphML, counts
// meanwhile:
//
//	go run ./scripts/bench --sizes "" --pacing=false --serve-size 0 --scan-size 0 --ingest=false --export-storm-size 1000000
//
// --live-size N adds issue 18's table (live.go): `hflineage serve` on an
// empty database reading in a loop during a first scan of an N-model Hub,
// idle after it, and during a --full rescan after the Hub churns; with
// issue 21's reads of the watched family (changes, its Atom feed, licence
// paths, the badge) in the loop, and serve's webhook for the family
// received, its signature checked and its counts compared with the Hub's
// after each crawl (webhook.go).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const root = "base-org-0/Base-Model-0" // the generator's largest family

var python = "/usr/bin/python3" // Debian's, where python3-networkx installs

func main() {
	if os.Getenv(liveHubEnv) != "" { // a child: the live table's fake Hub
		liveHubMain(os.Args[1:])
		return
	}
	sizes := flag.String("sizes", "1000000,3000000", "comma-separated world sizes (models); \"\" for none")
	pacing := flag.Bool("pacing", true, "measure pacing against rate-limited fake Hubs (about a minute)")
	keep := flag.Bool("keep", false, "keep the work directory")
	serveSize := flag.Int("serve-size", -1, "measure `hflineage serve` on the Hub of `N` models (0: not at all; default: 1000000 when in --sizes, else the first of --sizes)")
	serveDur := flag.Duration("serve-duration", 10*time.Second, "how long each server latency step runs")
	serveClients := flag.Int("serve-clients", 4, "concurrent clients of the server latency steps")
	serveWindow := flag.Duration("serve-crawl-window", time.Minute, "count during the server's crawl for at most this long")
	scanSize := flag.Int("scan-size", 200000, "check full, incremental and reconciling scans in-process on a Hub of `N` models (0: not at all)")
	ingest := flag.Bool("ingest", true, "run the store's ingest benchmarks (go test -bench Ingest ./store)")
	liveSize := flag.Int("live-size", 0, "issue 18's live table: serve reading during a first scan, idle (--serve-duration) and a --full rescan after churn, on a Hub of `N` models (0: not at all)")
	liveClients := flag.Int("live-clients", 1, "concurrent reading clients of the live table")
	stormSize := flag.Int("export-storm-size", 0, "issue 20's export storm: serve answering --export-storm-clients whole exports at once on a database of `N` models, counts meanwhile (0: not at all)")
	storm := stormOptions{readers: 2}
	flag.IntVar(&storm.clients, "export-storm-clients", 200, "clients of the export storm, each wanting one whole export")
	flag.StringVar(&storm.format, "export-storm-format", "graphml", "the export storm's format")
	flag.Parse()
	var worlds []int
	for _, s := range strings.Split(*sizes, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		worlds = append(worlds, n)
	}
	if *serveSize < 0 {
		*serveSize = 0
		if slices.Contains(worlds, 1000000) {
			*serveSize = 1000000
		} else if len(worlds) > 0 {
			*serveSize = worlds[0]
		}
	}
	if *serveClients < 1 || *serveDur <= 0 || *serveWindow <= 0 {
		fatalf("--serve-clients, --serve-duration and --serve-crawl-window must be positive")
	}
	if *liveSize < 0 || *liveClients < 1 {
		fatalf("--live-size must not be negative, --live-clients must be positive")
	}
	serveOpts := serveOptions{duration: *serveDur, clients: *serveClients, writers: 16, window: *serveWindow}
	work, err := os.MkdirTemp("", "hflineage-bench-")
	check(err)
	workDir = work
	if !*keep {
		defer os.RemoveAll(work)
	} else {
		workDir = ""
	}
	// A signal stops the children and removes the work directory.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		killChildren()
		if workDir != "" {
			os.RemoveAll(workDir)
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", s)
		os.Exit(1)
	}()
	bin := filepath.Join(work, "bin")
	for _, c := range []string{"hflineage", "hubsim"} {
		run("go", "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
	}
	fmt.Printf("machine: %s\n\n", machine())
	var rows [][]string
	if *ingest {
		rows = append(rows, benchIngest()...)
	}
	if *scanSize > 0 {
		rows = append(rows, benchScans(work, *scanSize)...)
	}
	for _, n := range worlds {
		rows = append(rows, benchWorld(bin, work, n)...)
		if n == *serveSize { // its database, crawled already
			rows = append(rows, benchServe(bin, work, n, filepath.Join(work, fmt.Sprintf("db-%d", n)), serveOpts)...)
		}
	}
	if *serveSize > 0 && !slices.Contains(worlds, *serveSize) {
		rows = append(rows, benchServe(bin, work, *serveSize, "", serveOpts)...)
	}
	if *stormSize > 0 {
		db := ""
		if slices.Contains(worlds, *stormSize) {
			db = filepath.Join(work, fmt.Sprintf("db-%d", *stormSize))
		}
		rows = append(rows, benchExportStorm(bin, work, *stormSize, db, storm)...)
	}
	if *pacing {
		rows = append(rows, benchPacing(bin, work)...)
	}
	if len(rows) > 0 || *liveSize == 0 {
		printTable([]string{"models", "step", "time", "peak RSS", "figure", "target"}, rows)
	}
	if *liveSize > 0 {
		benchLive(bin, work, *liveSize, liveOptions{idle: *serveDur, clients: *liveClients})
	}
}

// step is one measured command.
type step struct {
	elapsed time.Duration
	rssMiB  float64
	stdout  []byte
}

func measure(env []string, name string, args ...string) step {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	st := step{elapsed: time.Since(start), stdout: out.Bytes()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		st.rssMiB = float64(ru.Maxrss) / 1024
	}
	return st
}

func benchWorld(bin, work string, n int) [][]string {
	label := fmt.Sprintf("%.1fM", float64(n)/1e6)
	fmt.Fprintf(os.Stderr, "bench: %d models: generating and serving…\n", n)
	addr, stopHub := startHubsim(bin, work, strconv.Itoa(n), "--models", strconv.Itoa(n))
	defer stopHub()
	db := filepath.Join(work, fmt.Sprintf("db-%d", n))
	env := []string{"HF_ENDPOINT=" + addr, "HFLINEAGE_DB=" + db}
	hfl := filepath.Join(bin, "hflineage")
	var rows [][]string
	row := func(stepName string, s step, figure, target string) {
		rows = append(rows, []string{label, stepName, fmtDur(s.elapsed), fmt.Sprintf("%.0f MiB", s.rssMiB), figure, target})
	}

	fmt.Fprintf(os.Stderr, "bench: %d models: crawl --all…\n", n)
	crawl := measure(env, hfl, "crawl", "--all", "--json")
	var cs struct {
		Requests int64 `json:"requests"`
		Edges    int64 `json:"edges"`
		Models   int64 `json:"models"`
	}
	check(json.Unmarshal(crawl.stdout, &cs))
	lower := int64(math.Ceil(float64(n) / 1000))
	row("crawl --all", crawl, fmt.Sprintf("%d requests / lower bound %d = %.3f×; %.0f models/s, %.0f edges/s", cs.Requests, lower,
		float64(cs.Requests)/float64(lower), float64(cs.Models)/crawl.elapsed.Seconds(), float64(cs.Edges)/crawl.elapsed.Seconds()),
		"≤ 1.02×; ≥ 50,000 models/s, ≤ 1 GiB at 3M")

	count := measure(env, hfl, "count", "--json", root)
	var cc struct {
		Descendants struct{ Total int } `json:"descendants"`
	}
	check(json.Unmarshal(count.stdout, &cc))
	row("count (cold process)", count, fmt.Sprintf("%d descendants of %s", cc.Descendants.Total, root), "< 1 s at 100k; ≤ 0.3 s at 3M")

	stats := measure(env, hfl, "stats", "--json")
	var ss struct {
		Models, Edges int
	}
	check(json.Unmarshal(stats.stdout, &ss))
	row("stats", stats, fmt.Sprintf("%d models, %d edges", ss.Models, ss.Edges), "< 10 s, < 2 GiB at 3M")

	dot := measure(env, hfl, "export", "--format", "dot", "--root", root, "-o", filepath.Join(work, "family.dot"))
	row("export dot (family)", dot, fmt.Sprintf("%d nodes", cc.Descendants.Total+1), "≤ 1 s per 100k members")
	gml := measure(env, hfl, "export", "--format", "graphml", "-o", filepath.Join(work, "all.graphml"))
	row("export graphml (all)", gml, fmt.Sprintf("%d nodes", ss.Models), "≤ 512 MiB")
	edges := filepath.Join(work, "edges.csv")
	csvStep := measure(env, hfl, "export", "--format", "csv", "-o", edges)
	row("export csv (all)", csvStep, fmt.Sprintf("%d edges", ss.Edges), "≤ 512 MiB")
	rows = append(rows, benchExports(env, hfl, work, label, ss.Models)...)

	if exec.Command(python, "-c", "import networkx").Run() == nil {
		nx := measure(nil, python, "-c", networkxCount, edges, root)
		var r struct {
			Load, Query float64
			Count       int
		}
		check(json.Unmarshal(nx.stdout, &r))
		total := r.Load + r.Query
		row("networkx load+descendants", nx, fmt.Sprintf("%d descendants; load %.2fs + query %.2fs; hflineage count = %.3f× networkx",
			r.Count, r.Load, r.Query, count.elapsed.Seconds()/total), "hflineage ≤ 0.1×")
	} else {
		rows = append(rows, []string{label, "networkx", "-", "-", "python3-networkx not installed", ""})
	}

	// A walk of a mid-sized family: requests against one listing page per member.
	walkDB := filepath.Join(work, fmt.Sprintf("walkdb-%d", n))
	walk := measure([]string{env[0], "HFLINEAGE_DB=" + walkDB}, hfl, "crawl", "--mode", "walk", "--json", "base-org-2/Base-Model-2")
	var ws struct {
		Requests, Models, Pages int64
	}
	check(json.Unmarshal(walk.stdout, &ws))
	row("crawl --mode walk (base 2)", walk, fmt.Sprintf("%d requests for %d members = %.3f× lower bound", ws.Requests, ws.Models,
		float64(ws.Requests)/float64(ws.Models)), "≤ 1.02×")
	return rows
}

const networkxCount = `
import csv, json, sys, time
import networkx as nx
path, root = sys.argv[1], sys.argv[2]
t0 = time.time()
g = nx.DiGraph()
with open(path, newline="") as f:
    r = csv.reader(f)
    next(r)
    g.add_edges_from((row[0], row[2]) for row in r)
t1 = time.time()
d = nx.descendants(g, root) if root in g else set()
d.discard(root)
t2 = time.time()
print(json.dumps({"load": t1 - t0, "query": t2 - t1, "count": len(d)}))
`

// llama2Tree is the recorded Llama-2-7b family (../shared, not in the
// repository); without it the pacing table walks a generated family.
const llama2Tree = "../shared/hub-recordings/model_metadata_analyses/Llama-2-7b_finetunes_20250422_180448.json"

// benchPacing walks one family against fake Hubs with quotas of 60 per 5 s
// and 1,000 per 300 s (the free tier), for each way a Hub may round t, and
// reports the wall time against the quota-optimal schedule: every window
// spent at once, waiting only for resets (hubsim's windows start at its
// first request).
func benchPacing(bin, work string) [][]string {
	hubArgs, root, label := []string{"--models", "10000"}, "base-org-1/Base-Model-1", "generated family"
	if _, err := os.Stat(llama2Tree); err == nil {
		hubArgs, root, label = []string{"--tree", llama2Tree}, "meta-llama/Llama-2-7b", "Llama-2-7b tree"
	}
	walkOnce := func(name string, extra ...string) (step, int64, int64) {
		addr, stopHub := startHubsim(bin, work, name, append(slices.Clone(hubArgs), extra...)...)
		defer stopHub()
		env := []string{"HF_ENDPOINT=" + addr, "HFLINEAGE_DB=" + filepath.Join(work, "db-"+name)}
		fmt.Fprintf(os.Stderr, "bench: pacing: %s…\n", name)
		s := measure(env, filepath.Join(bin, "hflineage"), "crawl", "--mode", "walk", "--json", root)
		var cs struct{ Requests, Throttled int64 }
		check(json.Unmarshal(s.stdout, &cs))
		return s, cs.Requests, cs.Throttled
	}
	// Walks that finish within a second are timed three times (the median):
	// on a small machine one run's time is noise.
	walk := func(name string, extra ...string) (step, int64, int64) {
		s, n, tm := walkOnce(name, extra...)
		if s.elapsed > time.Second {
			return s, n, tm
		}
		runs := []step{s}
		for i := 1; i < 3; i++ {
			r, _, t2 := walkOnce(fmt.Sprintf("%s-%d", name, i), extra...)
			runs = append(runs, r)
			tm = max(tm, t2)
		}
		slices.SortFunc(runs, func(a, b step) int { return cmp.Compare(a.elapsed, b.elapsed) })
		return runs[1], n, tm
	}
	base, n, _ := walk("unpaced")
	var rows [][]string
	for _, q := range []struct {
		quota  int
		window time.Duration
	}{{60, 5 * time.Second}, {1000, 300 * time.Second}} {
		for _, round := range []string{"up", "down", "nearest"} {
			name := fmt.Sprintf("%d-per-%s-%s", q.quota, q.window, round)
			s, requests, throttled := walk(name, "--quota", strconv.Itoa(q.quota), "--window", q.window.String(), "--rounding", round)
			best := optimalWalk(int(n), q.quota, q.window, base.elapsed)
			rows = append(rows, []string{label, fmt.Sprintf("walk at %d/%s, t rounded %s", q.quota, q.window, round), fmtDur(s.elapsed),
				fmt.Sprintf("%.0f MiB", s.rssMiB),
				fmt.Sprintf("%d requests; optimal %s; %.2f× optimal; %d × 429", requests, fmtDur(best), s.elapsed.Seconds()/best.Seconds(), throttled),
				"≤ 1.1×, ≤ 1 × 429"})
		}
	}
	return append([][]string{{label, "walk, no quota", fmtDur(base.elapsed), fmt.Sprintf("%.0f MiB", base.rssMiB), fmt.Sprintf("%d requests", n), ""}}, rows...)
}

// optimalWalk is the quota-optimal time of n requests that take unpaced
// without a quota: the last window is reached after whole windows, then
// its share of the requests goes at unpaced speed.
func optimalWalk(n, quota int, window, unpaced time.Duration) time.Duration {
	if n <= quota {
		return unpaced
	}
	resets := (n - 1) / quota
	last := n - resets*quota
	return time.Duration(resets)*window + time.Duration(float64(unpaced)*float64(last)/float64(n))
}

func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				kb, _ := strconv.Atoi(strings.Fields(l)[1])
				mem = fmt.Sprintf("%.0f GiB", float64(kb)/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s RAM, %s %s/%s", runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func printTable(head []string, rows [][]string) {
	width := make([]int, len(head))
	for _, r := range append([][]string{head}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		fmt.Print("|")
		for i, c := range r {
			fmt.Printf(" %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Println()
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}

func fmtDur(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	check(cmd.Run())
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

// workDir is the work directory, removed on a signal ("" with --keep).
var workDir string

// fatalf stops the children and exits; the work directory stays, for the
// logs it names.
func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	killChildren()
	if workDir != "" {
		fmt.Fprintf(os.Stderr, "bench: work directory kept: %s\n", workDir)
	}
	os.Exit(1)
}
