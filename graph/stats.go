package graph

import (
	"context"
	"math"
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
	// DownloadsAllTime sums the descendants' all-time downloads where the
	// Hub gave them (unknown when none did); MembersWithoutAllTime counts
	// the descendants without, as count's keys of the same names.
	DownloadsAllTime      OptionalCount `json:"downloads_all_time,omitzero"`
	MembersWithoutAllTime int           `json:"members_without_all_time"`
	Likes                 int64         `json:"likes"` // summed over descendants
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

// DanglingReason is what the database knows of a dangling parent: a parent
// named in a model's tags of which it holds no record of its own.
type DanglingReason string

// The reasons, from what the crawls saw. Only the first two say the Hub does
// not have the parent (deleted, private, gated or misspelled); a parent
// outside every crawled family was simply never asked for.
const (
	// NotListedByScan: named by a model that a complete scan listed, and
	// not listed by the scans (which list every public model).
	NotListedByScan DanglingReason = "not_listed_by_scan"
	// LookupFailed: the Hub answered 401 or 404 when a crawl asked for it
	// (a walk's seed, or a family member that left).
	LookupFailed DanglingReason = "lookup_failed"
	// NotLookedUp: named only by models a walk stored and never asked for:
	// outside the crawled families, and the Hub may well serve it.
	NotLookedUp DanglingReason = "not_looked_up"
)

// DanglingParent is one dangling parent, with how many models name it.
type DanglingParent struct {
	Model    ModelID        `json:"model"`
	Children int            `json:"children"` // distinct models naming it as a parent (in the scope studied)
	Reason   DanglingReason `json:"reason"`
	// ScanRun and ScanDate, for NotListedByScan, name the complete scan the
	// verdict rests on: the latest that listed the whole Hub (see
	// DanglingCounts.ScanRun).
	ScanRun  uint64    `json:"scan_run,omitempty"`
	ScanDate time.Time `json:"scan_date,omitzero"`
}

// DanglingCounts splits the dangling parents by what the database knows of
// them: NotOnHub = NotListedByScan + LookupFailed, and NotOnHub +
// NotLookedUp = Stats.DanglingParents.
type DanglingCounts struct {
	NotOnHub        int              `json:"not_on_hub"`
	NotListedByScan int              `json:"not_listed_by_scan"`
	LookupFailed    int              `json:"lookup_failed"`
	NotLookedUp     int              `json:"not_looked_up"`
	Top             []DanglingParent `json:"top"` // most named first, then by id
	// ScanRun and ScanDate name the complete scan the NotListedByScan
	// verdicts rest on: the latest one that listed the whole Hub (a first
	// scan, or --full). They hold as of its date: the incremental scans
	// since list only models changed since the last, and miss one made
	// public later with an older lastModified. Zero when no verdict is.
	ScanRun  uint64    `json:"not_listed_by_scan_run,omitempty"`
	ScanDate time.Time `json:"not_listed_by_scan_date,omitzero"`
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
	DanglingParents  int            `json:"dangling_parents"` // parents named in tags of which the database holds no record (see Dangling)
	Dangling         DanglingCounts `json:"dangling"`         // the dangling parents by what the database knows of them
	// Roots: models with children and no parent (a self-loop aside); with
	// Root set, the chosen model (none when it is a stub: not a model).
	// They are exactly the depth-0 bucket.
	Roots int `json:"roots"`
	// ModelsWithoutLineage: models with neither parent nor child (self-loops
	// aside), counted in no depth bucket (0 with Root set).
	ModelsWithoutLineage int          `json:"models_without_lineage"`
	LargestFamilies      []FamilyStat `json:"largest_families"`
	// Depth: models by shortest distance from a root (depth 0 is the
	// roots), and models no root reaches by distance from a dangling parent
	// (not a model: its children are at depth 1); "unreachable" for models
	// reached from neither (in cycles only). The buckets add up to Models -
	// ModelsWithoutLineage.
	Depth        []Bucket       `json:"depth_distribution"`
	FanOut       []Bucket       `json:"fanout_distribution"` // parents (dangling ones included) by number of distinct children
	TopAuthors   []AuthorStat   `json:"top_authors"`         // authors of derivatives
	Growth       []FamilyGrowth `json:"growth_by_month"`
	LicenseDrift LicenseDrift   `json:"license_drift"`
	Quality      Quality        `json:"metadata_quality"`
	// DataVersion is the data version the figures describe, and
	// VersionsBehind how many commits the database has made since (set by
	// a long-lived process, which computes statistics in the background
	// while a crawl writes; 0 otherwise).
	DataVersion    uint64 `json:"data_version,omitempty"`
	VersionsBehind uint64 `json:"versions_behind,omitempty"`
	// Complete is false when the last crawl of what the figures describe
	// (the family; with no root, the latest scan or the latest walk of any
	// seed since) did not complete; Incomplete names it (set by the query
	// engine, always; nil from ComputeStats, which knows no crawl). Figures
	// VersionsBehind the database are complete only when the last crawl had
	// completed at DataVersion: false then with no Incomplete when the
	// crawl has completed since.
	Complete   *bool       `json:"complete,omitempty"`
	Incomplete *Incomplete `json:"incomplete,omitempty"`
}

// StatsOptions tune ComputeStats.
type StatsOptions struct {
	Top  int     // length of the rankings (default 10)
	Root ModelID // restrict everything to this family ("" for the whole graph)
	// DanglingReasons, if set, says what is known of the dangling parents
	// ids (the stubs in scope, sorted); an id it leaves out, or every id
	// when it is nil, is NotLookedUp.
	DanglingReasons func(ctx context.Context, ids []ModelID) (map[ModelID]DanglingReason, error)
	// LastListing, if set, returns the latest complete scan that listed the
	// whole Hub (ok false when none): what NotListedByScan verdicts rest on.
	LastListing func(ctx context.Context) (r Run, ok bool, err error)
}

// ComputeStats describes g, which must carry node attributes (Models).
// Stubs (NodeInfo.Stub) are the dangling parents: they are counted apart and
// in no other figure, but their edges are edges and make their children
// models with a parent. When ctx ends it stops and returns ctx's error, as
// it does an error of o.DanglingReasons.
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
	mergeParents := make([]int32, n)
	selfLoop := make([]bool, n)
	hasParent := make([]bool, n) // a parent in scope other than itself
	children := make([]int32, n) // distinct children in scope other than itself
	drift := map[[2]string]int{}
	kids := map[int32]bool{}
	for p := 0; p < n; p++ {
		if err := canceled(ctx, p); err != nil {
			return Stats{}, err
		}
		clear(kids)
		for k := g.off[p]; k < g.off[p+1]; k++ {
			c := g.dst[k]
			if !in[c] {
				continue
			}
			if g.rel[k] == Merge {
				mergeParents[c]++ // a merge's parents outside the family are still its parents
			}
			if !in[p] {
				continue
			}
			s.Edges++
			s.EdgesByRelation.add(g.rel[k])
			if int(c) == p {
				selfLoop[p] = true
				continue
			}
			hasParent[c] = true
			kids[c] = true
			pl, cl := g.Nodes[p].License, g.Nodes[c].License
			if pl != "" && cl != "" {
				s.LicenseDrift.EdgesCompared++
				if !strings.EqualFold(pl, cl) {
					s.LicenseDrift.Drifted++
					drift[[2]string{pl, cl}]++
				}
			}
		}
		children[p] = int32(len(kids))
	}
	authors := map[string]*AuthorStat{}
	var rootsList, stubs []int
	lineage := make([]bool, n) // counted in the depth distribution
	for i := 0; i < n; i++ {
		if err := canceled(ctx, i); err != nil {
			return Stats{}, err
		}
		if !in[i] {
			continue
		}
		m := &g.Nodes[i]
		if m.Stub {
			stubs = append(stubs, i)
			continue
		}
		s.Models++
		if selfLoop[i] {
			s.Quality.SelfLoops++
		}
		if mergeParents[i] == 1 {
			s.Quality.SingleParentMerges++
		}
		switch {
		case rootIdx >= 0:
			lineage[i] = true
			if i == rootIdx {
				rootsList = append(rootsList, i)
			}
		case !hasParent[i] && children[i] > 0:
			lineage[i] = true
			rootsList = append(rootsList, i)
		case !hasParent[i]:
			s.ModelsWithoutLineage++
		default:
			lineage[i] = true
		}
		if hasParent[i] && i != rootIdx {
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
			a.Downloads = AddCount(a.Downloads, m.Downloads)
		}
	}
	s.Roots = len(rootsList)
	s.DanglingParents = len(stubs)
	s.Quality.DanglingParents = s.DanglingParents
	var err error
	if s.Dangling, err = danglingCounts(ctx, g, stubs, children, o); err != nil {
		return Stats{}, err
	}
	s.TopAuthors = topAuthors(authors, o.Top)
	s.LicenseDrift.Top = topPairs(drift, o.Top)
	if s.Depth, err = depthDistribution(ctx, g, in, hasParent, lineage, rootIdx); err != nil {
		return Stats{}, err
	}
	if s.FanOut, err = fanOutDistribution(ctx, in, children); err != nil {
		return Stats{}, err
	}
	if s.Quality.Cycles, s.Quality.ModelsInCycles, err = cycles(ctx, g, in); err != nil {
		return Stats{}, err
	}

	// Families: every root's (or the chosen root's, a stub too), largest first.
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
		var p Popularity
		c := w.Count(r, func(node, _ int) { p.Add(&g.Nodes[node]) })
		fams = append(fams, FamilyStat{Model: g.ids[r], Author: g.Nodes[r].Author, License: g.Nodes[r].License,
			Descendants: c.Descendants, MaxDepth: c.MaxDepth, Downloads: p.Downloads, Likes: p.Likes,
			DownloadsAllTime: p.DownloadsAllTime, MembersWithoutAllTime: p.MembersWithoutAllTime})
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

// danglingCounts splits the stubs by what o.DanglingReasons knows of them
// and ranks them by how many models name them.
func danglingCounts(ctx context.Context, g *Graph, stubs []int, children []int32, o StatsOptions) (DanglingCounts, error) {
	dc := DanglingCounts{Top: []DanglingParent{}}
	var reasons map[ModelID]DanglingReason
	if o.DanglingReasons != nil && len(stubs) > 0 {
		ids := make([]ModelID, len(stubs))
		for k, i := range stubs {
			ids[k] = g.ids[i]
		}
		sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
		var err error
		if reasons, err = o.DanglingReasons(ctx, ids); err != nil {
			return DanglingCounts{}, err
		}
	}
	all := make([]DanglingParent, 0, len(stubs))
	for _, i := range stubs {
		r, ok := reasons[g.ids[i]]
		if !ok {
			r = NotLookedUp
		}
		switch r {
		case NotListedByScan:
			dc.NotListedByScan++
		case LookupFailed:
			dc.LookupFailed++
		default:
			r = NotLookedUp
			dc.NotLookedUp++
		}
		all = append(all, DanglingParent{Model: g.ids[i], Children: int(children[i]), Reason: r})
	}
	dc.NotOnHub = dc.NotListedByScan + dc.LookupFailed
	if dc.NotListedByScan > 0 && o.LastListing != nil {
		r, ok, err := o.LastListing(ctx)
		if err != nil {
			return DanglingCounts{}, err
		}
		if ok {
			dc.ScanRun, dc.ScanDate = r.ID, r.Ended().UTC()
			for i := range all {
				if all[i].Reason == NotListedByScan {
					all[i].ScanRun, all[i].ScanDate = dc.ScanRun, dc.ScanDate
				}
			}
		}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].Children != all[b].Children {
			return all[a].Children > all[b].Children
		}
		return all[a].Model < all[b].Model
	})
	dc.Top = append(dc.Top, all[:min(len(all), o.Top)]...)
	return dc, nil
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

// AddCount adds n, a count of downloads or likes, to sum, a sum of such
// counts (≥ 0): saturating at the largest int64 rather than wrapping to a
// negative number (two models claiming 9e18 downloads), and adding nothing
// for a negative n, which the Hub never reports.
func AddCount(sum, n int64) int64 {
	switch {
	case n <= 0:
		return sum
	case sum > math.MaxInt64-n:
		return math.MaxInt64
	}
	return sum + n
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

// depthDistribution counts the models marked in lineage by shortest
// distance from a root: the chosen one, or every model in scope without a
// parent; then models no root reaches, by distance from a dangling parent
// (multi-source breadth-first searches). Models reached from neither (in
// cycles only) are counted as "unreachable".
func depthDistribution(ctx context.Context, g *Graph, in, hasParent, lineage []bool, rootIdx int) ([]Bucket, error) {
	n := g.Len()
	depth := make([]int32, n)
	for i := range depth {
		depth[i] = -1
	}
	var queue []int32
	bfs := func(source func(i int) bool) error {
		queue = queue[:0]
		for i := 0; i < n; i++ {
			if in[i] && depth[i] < 0 && source(i) {
				depth[i] = 0
				queue = append(queue, int32(i))
			}
		}
		for h := 0; h < len(queue); h++ {
			if err := canceled(ctx, h); err != nil {
				return err
			}
			p := queue[h]
			for k := g.off[p]; k < g.off[p+1]; k++ {
				if c := g.dst[k]; in[c] && depth[c] < 0 {
					depth[c] = depth[p] + 1
					queue = append(queue, c)
				}
			}
		}
		return nil
	}
	if rootIdx >= 0 {
		if err := bfs(func(i int) bool { return i == rootIdx }); err != nil {
			return nil, err
		}
	} else {
		if err := bfs(func(i int) bool { return !hasParent[i] && !g.Nodes[i].Stub }); err != nil {
			return nil, err
		}
		if err := bfs(func(i int) bool { return g.Nodes[i].Stub }); err != nil {
			return nil, err
		}
	}
	counts := map[int32]int{}
	maxD := int32(-1)
	unreachable := 0
	for i := 0; i < n; i++ {
		if !lineage[i] {
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

// fanOutDistribution buckets the nodes in scope that have children by how
// many distinct children they have (themselves aside); a dangling parent
// counts, as the parent of its children.
func fanOutDistribution(ctx context.Context, in []bool, children []int32) ([]Bucket, error) {
	edges := []int{1, 2, 5, 10, 100, 1000, 10000}
	labels := []string{"1", "2-4", "5-9", "10-99", "100-999", "1000-9999", "10000+"}
	counts := make([]int, len(labels))
	for p := range in {
		if err := canceled(ctx, p); err != nil {
			return nil, err
		}
		d := int(children[p])
		if !in[p] || d == 0 {
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
