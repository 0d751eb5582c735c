package crawlsink_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

var scanModels = flag.Int("scan-models", 200000, "size of the generated Hub BenchmarkScan lists")

// BenchmarkScan is a first scan (crawl --all into an empty on-disk
// database, the bulk path) of a generated Hub served in-process by the fake
// Hub: listing, decoding and storing, the scan's end (snapshots) and the
// upkeep after it (garbage collection, caches), as Walker.Crawl runs them
// for `crawl --all`, in one process that `-cpuprofile` sees whole (the
// fake Hub's share included). Reports models/s.
// `-scan-models N` sets the Hub's size (default 200,000).
func BenchmarkScan(b *testing.B) {
	world := hubtest.Generate(hubtest.GenOptions{Models: *scanModels, Seed: 42})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	var models int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		st, err := store.Open(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL}, crawlsink.New(st))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		stats, err := w.Crawl(context.Background(), crawler.Request{All: true})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		models += stats.Models
		if !stats.Run.Bulk {
			b.Fatal("the first scan into an empty database did not take the bulk path")
		}
		st.Close()
	}
	b.ReportMetric(float64(models)/elapsed.Seconds(), "models/s")
}
