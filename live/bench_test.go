package live_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/live"
)

// hub is a synthetic Hub's graph of n models with the generator's shape in
// brief: a few bases with large families, about a third of the models with
// a parent, the rest without lineage.
func hub(n int) (*graph.Graph, []graph.ModelID) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]graph.ModelID, n)
	for i := range ids {
		ids[i] = graph.ModelID(fmt.Sprintf("org-%d/model-%d", i%5000, i))
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	nodes := make([]graph.NodeInfo, n)
	for i := range nodes {
		nodes[i] = graph.NodeInfo{Author: string(sorted[i].Author()), Downloads: r.Int64N(1e6), Created: 1.7e9}
	}
	kids := make([][]int32, n)
	for i := 100; i < n; i++ {
		if r.IntN(3) == 0 {
			p := r.IntN(i)
			if r.IntN(2) == 0 {
				p = r.IntN(100) // a base
			}
			kids[p] = append(kids[p], int32(i))
		}
	}
	off := make([]int32, n+1)
	var dst []int32
	var rel []graph.Relation
	for i := range n {
		slices.Sort(kids[i])
		for _, c := range kids[i] {
			dst, rel = append(dst, c), append(rel, graph.Finetune)
		}
		off[i+1] = int32(len(dst))
	}
	return graph.NewSortedGraph(sorted, nodes, off, dst, rel), sorted
}

// page is a commit of 1,000 new models, a third with a parent among the
// existing ones.
func page(r *rand.Rand, version uint64, next *int, ids []graph.ModelID) graph.Delta {
	d := graph.Delta{Version: version}
	for range 1000 {
		id := graph.ModelID(fmt.Sprintf("new-%d/model-%d", *next%5000, *next))
		*next++
		d.Changes = append(d.Changes, graph.Change{Op: graph.PutNode, ID: id, Info: graph.NodeInfo{Author: id.Author(), Downloads: r.Int64N(1e6)}})
		if r.IntN(3) == 0 {
			d.Changes = append(d.Changes, graph.Change{Op: graph.AddEdge, Edge: graph.Edge{Parent: ids[r.IntN(len(ids))], Child: id, Relation: graph.Adapter}})
		}
	}
	return d
}

// BenchmarkApplyPage: what the writer spends per committed page of 1,000
// models on a 1M-model graph.
func BenchmarkApplyPage(b *testing.B) {
	base, ids := hub(1_000_000)
	g := live.New(base, 1)
	r := rand.New(rand.NewPCG(3, 4))
	next := 0
	pages := make([]graph.Delta, b.N)
	for i := range pages {
		pages[i] = page(r, uint64(i+2), &next, ids)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := g.Apply(pages[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "models/s")
}

// BenchmarkCompact: folding an overlay of 100 pages into a 1M-model base.
func BenchmarkCompact(b *testing.B) {
	base, ids := hub(1_000_000)
	r := rand.New(rand.NewPCG(3, 4))
	for range b.N {
		b.StopTimer()
		g := live.New(base, 1)
		next := 0
		for v := range 100 {
			g.Apply(page(r, uint64(v+2), &next, ids))
		}
		b.StartTimer()
		if _, _, err := g.Compact(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// largestFamily is a 1M-model graph with an overlay of 100 pages, as a
// reader sees it during a crawl, and the largest family of its first 200
// models.
func largestFamily() (*live.Snapshot, graph.ModelID, int) {
	base, ids := hub(1_000_000)
	g := live.New(base, 1)
	r := rand.New(rand.NewPCG(3, 4))
	next := 0
	for v := range 100 {
		g.Apply(page(r, uint64(v+2), &next, ids[:100]))
	}
	s := g.Current()
	var largest graph.ModelID
	size := -1
	for _, id := range ids[:200] {
		if c := s.Count(id); c.Descendants.Total > size {
			largest, size = id, c.Descendants.Total
		}
	}
	return s, largest, size
}

// BenchmarkCountLargest: counting the largest family of a 1M-model graph
// with an overlay of 100 pages, as a reader does during a crawl.
func BenchmarkCountLargest(b *testing.B) {
	s, largest, size := largestFamily()
	b.ResetTimer()
	for range b.N {
		s.Count(largest)
	}
	b.ReportMetric(float64(size), "members")
}

// BenchmarkCountPopularityLargest: count's sums of the largest family's
// downloads, all-time downloads and likes (issue 21), beside
// BenchmarkCountLargest's count alone.
func BenchmarkCountPopularityLargest(b *testing.B) {
	s, largest, size := largestFamily()
	b.ResetTimer()
	for range b.N {
		s.CountPopularity(largest)
	}
	b.ReportMetric(float64(size), "members")
}
