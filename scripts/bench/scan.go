package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// benchScans is crawler's TestScanIncrementalAndFull at Hub scale (the test
// runs it at 20,000 models): in this process, against the fake Hub, into an
// on-disk database, a full scan (the bulk path), an incremental scan after
// the Hub gains 500 models and loses 50, and a full reconciling scan, each
// checked as the test checks it (requests against the lower bound, the
// store against the Hub model by model and edge by edge) and timed. A
// failed check stops the benchmark.
func benchScans(work string, n int) [][]string {
	label := fmt.Sprintf("%.1fM", float64(n)/1e6)
	if n < 1e6 {
		label = fmt.Sprintf("%dk", n/1000)
	}
	fmt.Fprintf(os.Stderr, "bench: %d models: scans in-process…\n", n)
	world := hubtest.Generate(hubtest.GenOptions{Models: n, Seed: 42})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	dir := filepath.Join(work, fmt.Sprintf("scan-%d", n))
	st, err := store.Open(dir, store.Options{})
	check(err)
	defer st.Close()
	scan := func(opts crawler.ScanOptions) (crawler.Stats, time.Duration) {
		w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL}, crawlsink.New(st))
		check(err)
		start := time.Now()
		stats, err := w.Scan(context.Background(), opts)
		check(err)
		return stats, time.Since(start)
	}
	var rows [][]string
	row := func(step string, d time.Duration, figure, target string) {
		rows = append(rows, []string{label, step, fmtDur(d), "-", figure, target})
	}

	full, d := scan(crawler.ScanOptions{})
	lower := int64(math.Ceil(float64(n) / 1000))
	if limit := int64(1.05*float64(lower)) + 3; full.Requests > limit {
		fatalf("scan: full scan of %d models took %d requests, more than %d", n, full.Requests, limit)
	}
	if !full.Run.Bulk {
		fatalf("scan: the first scan did not take the bulk path")
	}
	matchesHub(st, world)
	row("scan in-process: full (bulk)", d, fmt.Sprintf("%d requests / lower bound %d = %.3f×; %.0f models/s; store = Hub", full.Requests, lower,
		float64(full.Requests)/float64(lower), float64(full.Models)/d.Seconds()), "≤ 1.05× + 3")

	world.Churn(500, 50, hubtest.GeneratedUntil.Add(24*time.Hour))
	inc, d := scan(crawler.ScanOptions{})
	share := float64(inc.Requests) / float64(full.Requests)
	if share > max(0.05, 1/float64(full.Requests)) || inc.Run.ModelsAdded != 500 {
		fatalf("scan: incremental scan took %d requests (%.1f%% of the full scan), added %d models (want 500)", inc.Requests, 100*share, inc.Run.ModelsAdded)
	}
	row("scan in-process: incremental", d, fmt.Sprintf("%d requests = %.1f%% of the full scan; %d models added", inc.Requests, 100*share,
		inc.Run.ModelsAdded), "≤ 5 %")

	rec, d := scan(crawler.ScanOptions{Full: true})
	if rec.Run.ModelsRemoved != 50 {
		fatalf("scan: the reconciling scan removed %d models, want 50", rec.Run.ModelsRemoved)
	}
	matchesHub(st, world)
	row("scan in-process: full, reconciling", d, fmt.Sprintf("%d requests; removed %d models, %d edges; store = Hub", rec.Requests,
		rec.Run.ModelsRemoved, rec.Run.EdgesRemoved), "")
	return rows
}

// matchesHub stops the benchmark unless the store holds exactly the Hub's
// public models, its dangling parents as stubs, and the edges their tags
// declare (computed from the world directly).
func matchesHub(st *store.Store, w *hubtest.World) {
	g, err := st.LoadGraph(context.Background(), true)
	check(err)
	if err := w.Lineage().Check(g); err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n") // one line, as fatalf's others
		fatalf("scan: %s", first)
	}
}

// benchIngest runs the store's page-ingest benchmarks (20 pages of 1,000
// models into an on-disk Badger, fsync off, apart from the network): the
// diffing path every crawl but a first scan takes, and the bulk path.
func benchIngest() [][]string {
	fmt.Fprintf(os.Stderr, "bench: ingest benchmarks…\n")
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkIngest", "-benchtime", "10x", "-count", "3", "./store").CombinedOutput()
	if err != nil {
		fatalf("go test -bench Ingest ./store: %v\n%s", err, out)
	}
	// Each benchmark's median of three: "BenchmarkIngest-2  10  … 69742 edges/s  52280 models/s".
	runs := map[string][][2]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "BenchmarkIngest") || f[5] != "edges/s" || f[7] != "models/s" {
			continue
		}
		name, _, _ := strings.Cut(f[0], "-")
		e, _ := strconv.ParseFloat(f[4], 64)
		m, _ := strconv.ParseFloat(f[6], 64)
		runs[name] = append(runs[name], [2]float64{e, m})
	}
	var rows [][]string
	for _, b := range []struct{ name, step string }{
		{"BenchmarkIngest", "ingest: diffing path (go test -bench)"},
		{"BenchmarkIngestBulk", "ingest: bulk path, first scan (go test -bench)"},
	} {
		r := runs[b.name]
		if len(r) == 0 {
			fatalf("go test -bench Ingest ./store: no figures for %s\n%s", b.name, out)
		}
		slices.SortFunc(r, func(x, y [2]float64) int { return cmp.Compare(x[0], y[0]) })
		med := r[len(r)/2]
		rows = append(rows, []string{"20k", b.step, "-", "-", fmt.Sprintf("%.0f edges/s, %.0f models/s (median of %d)", med[0], med[1], len(r)),
			"≥ 300,000 edges/s"})
	}
	return rows
}
