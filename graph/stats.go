package graph

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PlaceholderCreatedAt is the creation date the Hub gives every repo older
// than its records; it says nothing about when a model was made.
var PlaceholderCreatedAt = time.Date(2022, 3, 2, 23, 29, 4, 0, time.UTC)

// EdgeCounts counts edges per relation.
type EdgeCounts struct {
	Adapter   int `json:"adapter"`
	Finetune  int `json:"finetune"`
	Merge     int `json:"merge"`
	Quantized int `json:"quantized"`
	Other     int `json:"other"`
}

func (c *EdgeCounts) add(r Relation) {
	switch r {
	case Adapter:
		c.Adapter++
	case Finetune:
		c.Finetune++
	case Merge:
		c.Merge++
	case Quantized:
		c.Quantized++
	default:
		c.Other++
	}
}

// FamilyStat is one family in the ranking.
type FamilyStat struct {
	Model       ModelID        `json:"model"`
	Author      string         `json:"author"`
	License     string         `json:"license"`
	Descendants RelationCounts `json:"descendants"`
	MaxDepth    int            `json:"max_depth"`
	Downloads   int64          `json:"downloads"` // summed over descendants (last 30 days, as the Hub reports)
	Likes       int64          `json:"likes"`     // summed over descendants
}

// Bucket is one bar of a distribution.
type Bucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// AuthorStat counts one author's derivatives.
type AuthorStat struct {
	Author      string `json:"author"`
	Derivatives int    `json:"derivatives"`
	Downloads   int64  `json:"downloads"`
}

// MonthCount is the number of models created in one month.
type MonthCount struct {
	Month string `json:"month"` // YYYY-MM
	Count int    `json:"count"`
}

// FamilyGrowth is a family's growth by month of creation.
type FamilyGrowth struct {
	Model        ModelID      `json:"model"`
	Months       []MonthCount `json:"months"`
	UnknownDates int          `json:"unknown_dates"` // placeholder or missing createdAt
}

// LicensePair is one kind of license drift.
type LicensePair struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// LicenseDrift summarises derivatives whose license differs from a parent's.
type LicenseDrift struct {
	EdgesCompared int           `json:"edges_compared"` // edges whose both ends state a license
	Drifted       int           `json:"drifted"`        // of those, with different licenses
	Top           []LicensePair `json:"top"`
}

// Quality summarises how clean the declared lineage is.
type Quality struct {
	SelfLoops          int `json:"self_loops"`
	Cycles             int `json:"cycles"`           // strongly connected groups of 2+ models
	ModelsInCycles     int `json:"models_in_cycles"` // models in those groups
	DanglingParents    int `json:"dangling_parents"`
	SingleParentMerges int `json:"single_parent_merges"`
}

// Stats describes an ecosystem: the whole graph, or one family.
type Stats struct {
	Root             ModelID        `json:"root,omitempty"`
	Models           int            `json:"models"` // models listed on the Hub (dangling parents excluded)
	ModelsWithParent int            `json:"models_with_parent"`
	Edges            int            `json:"edges"`
	EdgesByRelation  EdgeCounts     `json:"edges_by_relation"`
	DanglingParents  int            `json:"dangling_parents"` // parents named in tags but never listed (deleted, private, misspelled)
	Roots            int            `json:"roots"`            // models with children and no parent
	LargestFamilies  []FamilyStat   `json:"largest_families"`
	Depth            []Bucket       `json:"depth_distribution"`  // models by shortest distance from a root
	FanOut           []Bucket       `json:"fanout_distribution"` // models with children, by number of children
	TopAuthors       []AuthorStat   `json:"top_authors"`         // authors of derivatives
	Growth           []FamilyGrowth `json:"growth_by_month"`
	LicenseDrift     LicenseDrift   `json:"license_drift"`
	Quality          Quality        `json:"metadata_quality"`
}

// StatsOptions tune ComputeStats.
type StatsOptions struct {
	Top  int     // length of the rankings (default 10)
	Root ModelID // restrict everything to this family ("" for the whole graph)
}

// ComputeStats describes g, which must carry node attributes (Models).
// When ctx ends it stops and returns ctx's error.
func ComputeStats(ctx context.Context, g *Graph, o StatsOptions) (Stats, error) {
	if o.Top <= 0 {
		o.Top = 10
	}
	n := g.Len()
	in := make([]bool, n) // nodes under study
	rootIdx := -1
	if o.Root != "" {
		if i, ok := g.Index(o.Root); ok {
			rootIdx = i
			in[i] = true
			g.NewWalker().Count(i, func(node, _ int) { in[node] = true })
		}
	} else {
		for i := range in {
			in[i] = true
		}
	}
	s := Stats{Root: o.Root}
	indeg := make([]int32, n)
	mergeParents := make([]int32, n)
	selfLoop := make([]bool, n)
	drift := map[[2]string]int{}
	for p := 0; p < n; p++ {
		if err := canceled(ctx, p); err != nil {
			return Stats{}, err
		}
		if !in[p] {
			continue
		}
		for k := g.off[p]; k < g.off[p+1]; k++ {
			c := g.dst[k]
			if !in[c] {
				continue
			}
			s.Edges++
			s.EdgesByRelation.add(g.rel[k])
			indeg[c]++
			if g.rel[k] == Merge {
				mergeParents[c]++
			}
			if int(c) == p {
				selfLoop[p] = true
			}
			pl, cl := g.Nodes[p].License, g.Nodes[c].License
			if pl != "" && cl != "" && int(c) != p {
				s.LicenseDrift.EdgesCompared++
				if !strings.EqualFold(pl, cl) {
					s.LicenseDrift.Drifted++
					drift[[2]string{pl, cl}]++
				}
			}
		}
	}
	authors := map[string]*AuthorStat{}
	var rootsList []int
	for i := 0; i < n; i++ {
		if err := canceled(ctx, i); err != nil {
			return Stats{}, err
		}
		if !in[i] {
			continue
		}
		m := &g.Nodes[i]
		if m.Stub {
			s.DanglingParents++
			continue
		}
		s.Models++
		if selfLoop[i] {
			s.Quality.SelfLoops++
		}
		if mergeParents[i] == 1 {
			s.Quality.SingleParentMerges++
		}
		hasParent := indeg[i] > 0 && !(indeg[i] == 1 && selfLoop[i])
		if hasParent && i != rootIdx {
			s.ModelsWithParent++
			author := m.Author
			if author == "" {
				author = g.ids[i].Author()
			}
			a := authors[author]
			if a == nil {
				a = &AuthorStat{Author: author}
				authors[author] = a
			}
			a.Derivatives++
			a.Downloads += m.Downloads
		}
		if (!hasParent || i == rootIdx) && g.OutDegree(i) > 0 {
			rootsList = append(rootsList, i)
		}
	}
	s.Roots = len(rootsList)
	s.Quality.DanglingParents = s.DanglingParents
	s.TopAuthors = topAuthors(authors, o.Top)
	s.LicenseDrift.Top = topPairs(drift, o.Top)
	var err error
	if s.Depth, err = depthDistribution(ctx, g, in, rootsList, rootIdx); err != nil {
		return Stats{}, err
	}
	if s.FanOut, err = fanOutDistribution(ctx, g, in); err != nil {
		return Stats{}, err
	}
	if s.Quality.Cycles, s.Quality.ModelsInCycles, err = cycles(ctx, g, in); err != nil {
		return Stats{}, err
	}

	// Families: every root's (or the one root's), largest first.
	var fams []FamilyStat
	w := g.NewWalker()
	candidates := rootsList
	if rootIdx >= 0 {
		candidates = []int{rootIdx}
	}
	for _, r := range candidates {
		if err := ctx.Err(); err != nil {
			return Stats{}, err
		}
		var dl, likes int64
		c := w.Count(r, func(node, _ int) { dl += g.Nodes[node].Downloads; likes += g.Nodes[node].Likes })
		fams = append(fams, FamilyStat{Model: g.ids[r], Author: g.Nodes[r].Author, License: g.Nodes[r].License,
			Descendants: c.Descendants, MaxDepth: c.MaxDepth, Downloads: dl, Likes: likes})
	}
	sort.Slice(fams, func(i, j int) bool {
		if fams[i].Descendants.Total != fams[j].Descendants.Total {
			return fams[i].Descendants.Total > fams[j].Descendants.Total
		}
		return fams[i].Model < fams[j].Model
	})
	if len(fams) > o.Top {
		fams = fams[:o.Top]
	}
	s.LargestFamilies = fams
	for _, f := range fams {
		i, _ := g.Index(f.Model)
		s.Growth = append(s.Growth, growth(g, w, i))
	}
	if s.LargestFamilies == nil {
		s.LargestFamilies = []FamilyStat{}
	}
	if s.Growth == nil {
		s.Growth = []FamilyGrowth{}
	}
	return s, ctx.Err()
}

// growth counts a family's descendants by month of creation.
func growth(g *Graph, w *Walker, root int) FamilyGrowth {
	fg := FamilyGrowth{Model: g.ids[root], Months: []MonthCount{}}
	months := map[string]int{}
	w.Count(root, func(node, _ int) {
		t := g.Nodes[node].CreatedAt()
		if t.IsZero() || t.Equal(PlaceholderCreatedAt) || g.Nodes[node].Stub {
			fg.UnknownDates++
			return
		}
		months[t.UTC().Format("2006-01")]++
	})
	for m, c := range months {
		fg.Months = append(fg.Months, MonthCount{Month: m, Count: c})
	}
	sort.Slice(fg.Months, func(i, j int) bool { return fg.Months[i].Month < fg.Months[j].Month })
	return fg
}

func topAuthors(m map[string]*AuthorStat, top int) []AuthorStat {
	out := make([]AuthorStat, 0, len(m))
	for _, a := range m {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Derivatives != out[j].Derivatives {
			return out[i].Derivatives > out[j].Derivatives
		}
		return out[i].Author < out[j].Author
	})
	if len(out) > top {
		out = out[:top]
	}
	return out
}

func topPairs(m map[[2]string]int, top int) []LicensePair {
	out := make([]LicensePair, 0, len(m))
	for k, c := range m {
		out = append(out, LicensePair{From: k[0], To: k[1], Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	if len(out) > top {
		out = out[:top]
	}
	return out
}

// depthDistribution counts models by shortest distance from the roots
// (multi-source breadth-first search); models reachable from no root (in
// cycles only) are counted as "unreachable".
func depthDistribution(ctx context.Context, g *Graph, in []bool, roots []int, rootIdx int) ([]Bucket, error) {
	n := g.Len()
	depth := make([]int32, n)
	for i := range depth {
		depth[i] = -1
	}
	queue := make([]int32, 0, len(roots))
	// Sources: the chosen root, or every model without a parent.
	hasParent := make([]bool, n)
	for p := 0; p < n; p++ {
		if err := canceled(ctx, p); err != nil {
			return nil, err
		}
		if !in[p] {
			continue
		}
		for k := g.off[p]; k < g.off[p+1]; k++ {
			if c := g.dst[k]; in[c] && int(c) != p {
				hasParent[c] = true
			}
		}
	}
	for i := 0; i < n; i++ {
		if in[i] && ((rootIdx < 0 && !hasParent[i]) || i == rootIdx) {
			depth[i] = 0
			queue = append(queue, int32(i))
		}
	}
	for h := 0; h < len(queue); h++ {
		if err := canceled(ctx, h); err != nil {
			return nil, err
		}
		p := queue[h]
		for k := g.off[p]; k < g.off[p+1]; k++ {
			if c := g.dst[k]; in[c] && depth[c] < 0 {
				depth[c] = depth[p] + 1
				queue = append(queue, c)
			}
		}
	}
	counts := map[int32]int{}
	var maxD int32
	unreachable := 0
	for i := 0; i < n; i++ {
		if !in[i] || g.Nodes[i].Stub {
			continue
		}
		if depth[i] < 0 {
			unreachable++
			continue
		}
		counts[depth[i]]++
		maxD = max(maxD, depth[i])
	}
	out := []Bucket{}
	for d := int32(0); d <= maxD; d++ {
		out = append(out, Bucket{Label: strconv.Itoa(int(d)), Count: counts[d]})
	}
	if unreachable > 0 {
		out = append(out, Bucket{Label: "unreachable", Count: unreachable})
	}
	return out, nil
}

// fanOutDistribution buckets models with children by how many they have.
func fanOutDistribution(ctx context.Context, g *Graph, in []bool) ([]Bucket, error) {
	edges := []int{1, 2, 5, 10, 100, 1000, 10000}
	labels := []string{"1", "2-4", "5-9", "10-99", "100-999", "1000-9999", "10000+"}
	counts := make([]int, len(labels))
	for p := 0; p < g.Len(); p++ {
		if err := canceled(ctx, p); err != nil {
			return nil, err
		}
		if !in[p] {
			continue
		}
		kids := map[int32]bool{}
		for k := g.off[p]; k < g.off[p+1]; k++ {
			if c := g.dst[k]; in[c] && int(c) != p {
				kids[c] = true
			}
		}
		d := len(kids)
		if d == 0 {
			continue
		}
		b := sort.Search(len(edges), func(i int) bool { return edges[i] > d }) - 1
		counts[b]++
	}
	out := make([]Bucket, len(labels))
	for i := range labels {
		out[i] = Bucket{Label: labels[i], Count: counts[i]}
	}
	return out, nil
}

// cycles finds strongly connected groups of two or more models (Tarjan's
// algorithm, iterative so that deep chains cannot overflow the stack).
func cycles(ctx context.Context, g *Graph, in []bool) (groups, members int, err error) {
	n := g.Len()
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	type frame struct {
		v int32
		k int32 // next edge to look at
	}
	var next int32
	steps := 0
	for s := 0; s < n; s++ {
		if !in[s] || index[s] >= 0 {
			continue
		}
		call := []frame{{int32(s), g.off[s]}}
		index[s], low[s] = next, next
		next++
		stack = append(stack, int32(s))
		onStack[s] = true
		for len(call) > 0 {
			if steps++; steps%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return 0, 0, err
				}
			}
			f := &call[len(call)-1]
			v := f.v
			if f.k < g.off[v+1] {
				w := g.dst[f.k]
				f.k++
				if !in[w] {
					continue
				}
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, g.off[w]})
				} else if onStack[w] {
					low[v] = min(low[v], index[w])
				}
				continue
			}
			if low[v] == index[v] {
				size := 0
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					size++
					if w == v {
						break
					}
				}
				if size > 1 {
					groups++
					members += size
				}
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
		}
	}
	return groups, members, nil
}
