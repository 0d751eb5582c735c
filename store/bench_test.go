package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// ingestPages builds pages of models shaped like a family listing: every
// model has one or two parents (a third of them two), as in a walk.
func ingestPages(pages, perPage int) [][]graph.Model {
	out := make([][]graph.Model, pages)
	n := 0
	for p := range out {
		page := make([]graph.Model, perPage)
		for i := range page {
			id := graph.ModelID(fmt.Sprintf("user%d/model-%d", n%5000, n))
			tags := []string{"transformers", "safetensors", "text-generation", "license:apache-2.0",
				fmt.Sprintf("base_model:user%d/model-%d", (n/7)%5000, n/7), fmt.Sprintf("base_model:finetune:user%d/model-%d", (n/7)%5000, n/7)}
			if n%3 == 0 {
				tags = append(tags, "base_model:base-org/Base", "base_model:merge:base-org/Base")
			}
			page[i] = graph.Model{ID: id, Author: id.Author(), Downloads: int64(n % 1000), Likes: int64(n % 7),
				CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), LibraryName: "transformers", PipelineTag: "text-generation",
				License: "apache-2.0", Tags: tags}
			n++
		}
		out[p] = page
	}
	return out
}

// BenchmarkIngest measures committing listing pages (models, edges both
// ways, stubs, aliases, run counters) into an on-disk Badger, as a crawl
// does, apart from the network, on the diffing path that every crawl but
// the first scan takes (each model's earlier record read and compared).
// Reports edges/s.
func BenchmarkIngest(b *testing.B) { benchIngest(b, false) }

// BenchmarkIngestBulk is BenchmarkIngest on the bulk path of a first scan
// into an empty database (bulk.go): the same pages, stored by PutCrawled
// as the scan stores them, without the reads.
func BenchmarkIngestBulk(b *testing.B) { benchIngest(b, true) }

func benchIngest(b *testing.B, bulk bool) {
	const perPage = 1000
	pages := ingestPages(20, perPage)
	edgesPerPage := 0
	for _, m := range pages[0] {
		edgesPerPage += len(graph.ParentsFromTags(m.Tags))
	}
	b.ResetTimer()
	var edges int
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(b.TempDir(), Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		run, _ := s.NewRun("scan", false, nil)
		if run.Bulk != bulk {
			run.Bulk = bulk // BenchmarkIngest: the diffing path on the same empty database
		}
		b.StartTimer()
		start := time.Now()
		for _, page := range pages {
			err := s.UpdateRun(run, func(tx *Tx) error {
				for _, m := range page {
					var err error
					if bulk {
						_, _, err = tx.PutCrawled(m, graph.ParentsFromTags(m.Tags))
					} else {
						err = tx.PutModel(m, graph.ParentsFromTags(m.Tags))
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			edges += edgesPerPage
		}
		elapsed += time.Since(start)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(edges)/elapsed.Seconds(), "edges/s")
	b.ReportMetric(float64(len(pages)*perPage*b.N)/elapsed.Seconds(), "models/s")
}
