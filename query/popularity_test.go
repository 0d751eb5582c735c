package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// worldPopularity is what the descendants of roots in w (the roots
// themselves excepted) add up to, computed from the world directly (its
// declared lineage, breadth first): the answer a crawl of the families
// must give.
func worldPopularity(t *testing.T, w *hubtest.World, roots ...graph.ModelID) (int, graph.Popularity) {
	t.Helper()
	l := w.Lineage()
	kids := map[graph.ModelID][]graph.ModelID{}
	for e := range l.Edges {
		kids[e.Parent] = append(kids[e.Parent], e.Child)
	}
	seen := map[graph.ModelID]bool{}
	for _, r := range roots {
		seen[r] = true
	}
	queue := slices.Clone(roots)
	var p graph.Popularity
	n := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, c := range kids[id] {
			if seen[c] {
				continue
			}
			seen[c] = true
			queue = append(queue, c)
			n++
			m, ok := w.Get(string(c))
			if !ok {
				t.Fatalf("%s: not in the world", c)
			}
			p.Downloads = graph.AddCount(p.Downloads, m.Downloads)
			p.Likes = graph.AddCount(p.Likes, m.Likes)
			if all, served := hubtest.DownloadsAllTimeOf(m); served {
				p.DownloadsAllTime = graph.CountOf(graph.AddCount(p.DownloadsAllTime.N, all))
			} else {
				p.MembersWithoutAllTime++
			}
		}
	}
	return n, p
}

// TestCountPopularity crawls fake Hubs that serve downloadsAllTime for
// every model, for some, and for none, and checks that count's sums
// (downloads, all-time downloads, members without them, likes) are exactly
// the world's, read from the database (a small family, by its records;
// a large one, through the cached edge graph) and from the live graph.
func TestCountPopularity(t *testing.T) {
	ft := func(parent string) []string {
		return hubtest.ParentTags(hubtest.Parent{ID: parent, Relation: "finetune"})
	}
	small := func(allTime func(i int) int64) *hubtest.World {
		w := hubtest.NewWorld()
		w.Add(hubtest.Model{ID: "org/Base", Downloads: 1_000_000, DownloadsAllTime: 9_000_000, Likes: 500})
		for i := range 12 {
			parent := "org/Base"
			if i >= 6 {
				parent = fmt.Sprintf("u%d/ft", i-6) // grandchildren
			}
			w.Add(hubtest.Model{ID: fmt.Sprintf("u%d/ft", i), Downloads: int64(10 * (i + 1)), Likes: int64(i % 3),
				DownloadsAllTime: allTime(i), Tags: ft(parent)})
		}
		// A merge of a child and a grandchild: one member, counted once.
		w.Add(hubtest.Model{ID: "m/merge", Downloads: 7, DownloadsAllTime: 70, Likes: 1,
			Tags: hubtest.ParentTags(hubtest.Parent{ID: "u0/ft", Relation: "merge"}, hubtest.Parent{ID: "u7/ft", Relation: "merge"})})
		// Not in the family: its popularity must not be counted.
		w.Add(hubtest.Model{ID: "other/Base", Downloads: 123456, DownloadsAllTime: 654321, Likes: 99})
		return w
	}
	saturated := hubtest.NewWorld()
	saturated.Add(hubtest.Model{ID: "org/Base"})
	for i := range 3 {
		saturated.Add(hubtest.Model{ID: fmt.Sprintf("big%d/ft", i), Downloads: math.MaxInt64 / 2, DownloadsAllTime: math.MaxInt64 - 1,
			Likes: math.MaxInt64 / 2, Tags: ft("org/Base")})
	}

	tests := []struct {
		name  string
		world *hubtest.World
		root  graph.ModelID
		mode  string
	}{
		{"all-time for every model", small(func(i int) int64 { return int64(1000 * (i + 1)) }), "org/Base", "walk"},
		{"all-time for some", small(func(i int) int64 {
			if i%4 == 0 {
				return -1 // an answer without downloadsAllTime
			}
			return int64(1000 * (i + 1))
		}), "org/Base", "walk"},
		{"all-time for none", func() *hubtest.World {
			w := small(func(int) int64 { return -1 })
			w.Update("m/merge", func(m *hubtest.Model) { m.DownloadsAllTime = -1 })
			return w
		}(), "org/Base", "walk"},
		{"sums saturate", saturated, "org/Base", "walk"},
		{"large family, listed", hubtest.Generate(hubtest.GenOptions{Models: 15000, Seed: 3, Bases: 1}), "base-org-0/Base-Model-0", "scan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			n, want := worldPopularity(t, tt.world, tt.root)
			srv := hubtest.NewServer(tt.world)
			defer srv.Close()
			st, err := store.Open(t.TempDir(), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			hub := query.Hub{Endpoint: srv.URL, Parallel: 2, MinWait: time.Millisecond, MaxWait: time.Second}
			req := query.CrawlRequest{Seeds: []string{string(tt.root)}, Mode: tt.mode}
			if tt.mode == "scan" {
				req = query.CrawlRequest{All: true}
			}
			if _, err := query.New(st).Crawl(ctx, hub, req, query.CrawlWatch{}); err != nil {
				t.Fatal(err)
			}

			check := func(how string, e *query.Engine) {
				t.Helper()
				c, err := e.Count(ctx, string(tt.root))
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if c.Descendants.Total != n {
					t.Errorf("%s: %d descendants, the world has %d", how, c.Descendants.Total, n)
				}
				if c.Popularity != want {
					t.Errorf("%s: popularity %+v, the world's %+v", how, c.Popularity, want)
				}
			}
			check("database", query.New(st))
			live, err := query.Open(ctx, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer live.Close()
			check("live graph", live)
		})
	}
}

// TestCountPopularityJSON: count --json (and the API's count) carry the
// sums under additive keys; an unknown all-time sum is left out, not 0.
func TestCountPopularityJSON(t *testing.T) {
	tests := []struct {
		name string
		p    graph.Popularity
		want string
	}{
		{"known", graph.Popularity{Downloads: 5, DownloadsAllTime: graph.CountOf(50), MembersWithoutAllTime: 1, Likes: 2},
			`{"downloads":5,"downloads_all_time":50,"members_without_all_time":1,"likes":2}`},
		{"known 0", graph.Popularity{DownloadsAllTime: graph.CountOf(0)},
			`{"downloads":0,"downloads_all_time":0,"members_without_all_time":0,"likes":0}`},
		{"unknown", graph.Popularity{Downloads: 5, MembersWithoutAllTime: 3},
			`{"downloads":5,"members_without_all_time":3,"likes":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
			c := query.Count{FamilyCount: graph.FamilyCount{Model: "a/b"}, Popularity: tt.p, Complete: true}
			b, err = json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var back query.Count
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Popularity != tt.p {
				t.Errorf("%s read back as %+v, want %+v", b, back.Popularity, tt.p)
			}
		})
	}
}

// TestCountEcosystemPopularity: an ecosystem's count sums its members'
// popularity (each member once, however many roots it descends from; the
// roots' own never), exactly the world's, from the database and from the
// live graph.
func TestCountEcosystemPopularity(t *testing.T) {
	ctx := context.Background()
	w := hubtest.NewWorld()
	for _, base := range []string{"org/Base-A", "org/Base-B", "org/Base-C"} {
		w.Add(hubtest.Model{ID: base, Downloads: 1_000_000, DownloadsAllTime: 5_000_000, Likes: 100})
	}
	// Base-B descends from Base-A: a root, never a member.
	w.Update("org/Base-B", func(m *hubtest.Model) {
		m.Tags = hubtest.ParentTags(hubtest.Parent{ID: "org/Base-A", Relation: "finetune"})
	})
	for i := range 20 {
		base := []string{"org/Base-A", "org/Base-B", "org/Base-C"}[i%3]
		all := int64(100 * (i + 1))
		if i%5 == 0 {
			all = -1 // not served
		}
		w.Add(hubtest.Model{ID: fmt.Sprintf("u%d/ft", i), Downloads: int64(i + 1), DownloadsAllTime: all, Likes: int64(i % 2),
			Tags: hubtest.ParentTags(hubtest.Parent{ID: base, Relation: "finetune"})})
	}
	// A merge of two families: one member.
	w.Add(hubtest.Model{ID: "m/merge", Downloads: 1000, DownloadsAllTime: 9000, Likes: 7,
		Tags: hubtest.ParentTags(hubtest.Parent{ID: "u0/ft", Relation: "merge"}, hubtest.Parent{ID: "u2/ft", Relation: "merge"})})
	srv := hubtest.NewServer(w)
	defer srv.Close()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := query.Hub{Endpoint: srv.URL, Parallel: 2, MinWait: time.Millisecond, MaxWait: time.Second}
	if _, err := query.New(st).Crawl(ctx, hub, query.CrawlRequest{Seeds: []string{"org/*"}, Mode: "walk"}, query.CrawlWatch{}); err != nil {
		t.Fatal(err)
	}
	n, want := worldPopularity(t, w, "org/Base-A", "org/Base-B", "org/Base-C")
	live, err := query.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	for how, e := range map[string]*query.Engine{"database": query.New(st), "live graph": live} {
		c, err := e.CountEcosystem(ctx, "org/*")
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if c.Descendants.Total != n || c.Popularity != want {
			t.Errorf("%s: %d members, %+v; the world's %d, %+v", how, c.Descendants.Total, c.Popularity, n, want)
		}
		b, _ := json.Marshal(c)
		if !strings.Contains(string(b), `"complete":true,"downloads":`) {
			t.Errorf("%s: the sums are not last in the JSON: %s", how, b)
		}
	}
}
