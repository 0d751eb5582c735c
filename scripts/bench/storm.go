package main

// The export storm (issue 20): `hflineage serve` on a crawled database of
// N models while many clients ask at once for the whole database's export,
// each retrying after the server's Retry-After until it has read one whole;
// meanwhile other clients count a family. It reports serve's peak RSS, how
// long the storm took, how many requests the server refused (503, its
// bound on heavy requests) and the counts' latency during it.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// stormOptions shape the export storm.
type stormOptions struct {
	clients int    // clients each wanting one whole export
	format  string // the export's format
	readers int    // clients counting meanwhile
}

// benchExportStorm runs the storm on the generated Hub of n models, with
// db crawled from it already ("": crawled here).
func benchExportStorm(bin, work string, n int, db string, o stormOptions) [][]string {
	label := fmt.Sprintf("%.1fM", float64(n)/1e6)
	hfl := filepath.Join(bin, "hflineage")
	if db == "" {
		fmt.Fprintf(os.Stderr, "bench: export storm %d models: generating the Hub…\n", n)
		hubURL, stopHub := startHubsim(bin, work, fmt.Sprintf("storm-%d", n), "--models", strconv.Itoa(n))
		db = filepath.Join(work, fmt.Sprintf("stormdb-%d", n))
		fmt.Fprintf(os.Stderr, "bench: export storm %d models: crawl --all…\n", n)
		measure([]string{"HF_ENDPOINT=" + hubURL, "HFLINEAGE_DB=" + db}, hfl, "crawl", "--all", "--json")
		stopHub()
	}
	srvLog := filepath.Join(work, fmt.Sprintf("serve-storm-%d.log", n))
	srv, base, stopSrv := startServe(hfl, db, filepath.Join(work, fmt.Sprintf("serve-addr-storm-%d", n)), srvLog, os.Environ())
	defer stopSrv()
	c := newClient(o.clients + o.readers)
	count := base + "/api/v1/count?model=" + url.QueryEscape(root)
	if _, err := c.get(count, 2*time.Minute); err != nil {
		fatalf("export storm: %v (server log: %s)", err, srvLog)
	}
	exportURL := base + "/api/v1/export?format=" + url.QueryEscape(o.format)

	// One whole export alone, for its size and time.
	t0 := time.Now()
	size, _, err := readExport(context.Background(), c.hc, exportURL)
	if err != nil {
		fatalf("export storm: one export: %v (server log: %s)", err, srvLog)
	}
	one := time.Since(t0)

	fmt.Fprintf(os.Stderr, "bench: export storm %d models: %d clients × %s export (%.0f MiB each, %s alone)…\n", n, o.clients, o.format, float64(size)/(1<<20), fmtDur(one))
	resetPeakRSS(srv)
	ctx, stopReads := context.WithCancel(context.Background())
	reads := make(chan loadResult, 1)
	go func() { reads <- c.load(ctx, o.readers, 24*time.Hour, func(int) string { return count }) }()
	var refused, failed atomic.Int64
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range o.clients {
		wg.Go(func() {
			for {
				got, wait, err := readExport(context.Background(), c.hc, exportURL)
				switch {
				case err != nil:
					fail(err)
					return
				case wait > 0:
					refused.Add(1)
					time.Sleep(wait)
				case got != size:
					fail(fmt.Errorf("an export of %d bytes, not %d", got, size))
					return
				default:
					return
				}
			}
		})
	}
	wg.Wait()
	storm := time.Since(start)
	stopReads()
	r := <-reads
	if f := failed.Load(); f > 0 {
		fatalf("export storm: %d exports failed, the first: %v (server log: %s)", f, firstErr, srvLog)
	}
	r.mustSucceed("export storm: counts", srvLog)
	return [][]string{{label, fmt.Sprintf("serve: %d whole %s exports at once", o.clients, o.format), fmtDur(storm), peakRSS(srv),
		fmt.Sprintf("%.0f MiB each (%s alone); %d refused with 503 and retried; %d counts of %s meanwhile (%d clients): p50 %s, p99 %s, max %s",
			float64(size)/(1<<20), fmtDur(one), refused.Load(), len(r.lat), root, o.readers, fmtMs(r.quantile(0.5)), fmtMs(r.quantile(0.99)),
			fmtMs(r.quantile(1))), "serve < 1.5 GiB at 1M; counts answered"}}
}

// readExport reads one export whole and returns its size, or, when the
// server refused it for now (503), how long it asks to wait.
func readExport(ctx context.Context, hc *http.Client, u string) (int64, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		io.Copy(io.Discard, resp.Body)
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs <= 0 {
			return 0, 0, fmt.Errorf("503 without Retry-After")
		}
		return 0, time.Duration(secs) * time.Second, nil
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, 0, fmt.Errorf("%s: %s", resp.Status, b)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	return n, 0, err
}
