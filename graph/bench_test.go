package graph

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// benchGraph is a synthetic lineage graph: n models, about a third with a
// parent, preferentially attached to a few bases, as on the Hub.
func benchGraph(n int) *Graph {
	b := NewGraphBuilder(n)
	rels := Relations
	r := newRand(7)
	for i := 0; i < n; i++ {
		id := ModelID(fmt.Sprintf("user%d/model-%d", i%5000, i))
		b.Node(id, &Model{ID: id, Author: id.Author(), License: "apache-2.0", Downloads: int64(i % 1000),
			CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)})
	}
	for i := 5; i < n; i++ {
		if i%3 != 0 {
			continue
		}
		p := r.IntN(5)
		if r.IntN(2) == 0 {
			p = r.IntN(i)
		}
		b.Edge(Edge{ModelID(fmt.Sprintf("user%d/model-%d", p%5000, p)), ModelID(fmt.Sprintf("user%d/model-%d", i%5000, i)), rels[i%4]})
	}
	return b.Graph()
}

func BenchmarkParentsFromTags(b *testing.B) {
	tags := []string{"transformers", "safetensors", "llama", "text-generation", "base_model:meta-llama/Llama-3.1-8B",
		"base_model:finetune:meta-llama/Llama-3.1-8B", "license:llama3.1", "region:us"}
	for i := 0; i < b.N; i++ {
		ParentsFromTags(tags)
	}
}

func BenchmarkDescendants(b *testing.B) {
	g := benchGraph(1_000_000)
	w := g.NewWalker()
	b.ResetTimer()
	var c FamilyCount
	for i := 0; i < b.N; i++ {
		c = w.Count(0, nil)
	}
	b.ReportMetric(float64(c.Descendants.Total), "descendants")
}

func BenchmarkStats(b *testing.B) {
	g := benchGraph(1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ComputeStats(context.Background(), g, StatsOptions{})
	}
}

func benchEncode(b *testing.B, enc func(io.Writer) Encoder) {
	g := benchGraph(300_000)
	f, _ := g.Family(context.Background(), g.ID(0), -1)
	model := func(ids []ModelID, fn func(Model) error) error {
		for _, id := range ids {
			i, _ := g.Index(id)
			if err := fn(g.Model(i)); err != nil {
				return err
			}
		}
		return nil
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteFamily(context.Background(), enc(io.Discard), f, model, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(f.Members)), "nodes")
}

func BenchmarkWriteDOT(b *testing.B) {
	benchEncode(b, func(w io.Writer) Encoder { return NewDOTEncoder(w, "bench", "") })
}

func BenchmarkWriteGraphML(b *testing.B) {
	benchEncode(b, func(w io.Writer) Encoder { return NewGraphMLEncoder(w) })
}
