package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/live"
)

// An ecosystem is what claims about open models count: every model of an
// organisation ("meta-llama/*"), a glob ("Qwen/Qwen2.5-*") or several of
// them separated by commas. Its roots are the models the patterns match;
// its members, the union of the roots' families less the roots themselves,
// each model once however many roots it descends from.

// ErrNoMatch: a pattern names no model in the database.
var ErrNoMatch = errors.New("no model in the database matches")

// IsEcosystem reports whether a name given for counting names an
// ecosystem (a wildcard, or several comma-separated names) rather than one
// model.
func IsEcosystem(name string) bool {
	return graph.IsPattern(name) || strings.Contains(name, ",")
}

// ecosystem is an ecosystem resolved on one snapshot.
type ecosystem struct {
	spec    graph.Ecosystem
	matched []graph.ModelID // every model the patterns match, sorted
	walk    *graph.EcosystemWalk
}

// lineage is a graph an ecosystem is walked on: a snapshot, or (for a
// one-shot count, which needs no attributes) the stored edge graph.
type lineage interface {
	graph.Adjacency
	Index(id graph.ModelID) (int32, bool)
}

// attributed is a lineage with its models' attributes: what Compare
// reads.
type attributed interface {
	lineage
	Info(i int32) graph.NodeInfo
}

// nodeGraph gives a graph.Graph with node attributes (a one-shot Engine's
// stored graph) the attributed interface, without the live graph's
// structures.
type nodeGraph struct{ edgeGraph }

func (g nodeGraph) Info(i int32) graph.NodeInfo { return g.Nodes[i] }

// tableGraph is the stored edge graph with its models' attributes read in
// place from graph.bin (store.NodeTable): cheaper to load than the whole
// graph with attributes.
type tableGraph struct {
	edgeGraph
	t     *graph.NodeTable
	align []int32 // node i's number in t, -1 for none
}

func (g tableGraph) Info(i int32) graph.NodeInfo {
	if n, ok := g.t.Record(int(g.align[i])); ok {
		return n
	}
	return graph.NodeInfo{Stub: true}
}

// attributed returns the graph with attributes to read, and what releases
// it: the live graph's snapshot, or the stored edge graph and graph.bin's
// attributes (the stored graph when graph.bin is not current).
func (e *Engine) attributed(ctx context.Context) (attributed, func(), error) {
	if l := e.live.Load(); l != nil {
		return l.g.Current(), func() {}, nil
	}
	g, err := e.st.CachedEdgeGraph(ctx)
	if err != nil {
		return nil, nil, err
	}
	t, release, err := e.st.NodeTable(ctx)
	if err != nil {
		return nil, nil, err
	}
	if t != nil {
		return tableGraph{edgeGraph{g}, t, t.Align(g.Len(), g.ID)}, release, nil
	}
	v, err := e.loadStatic(ctx)
	if err != nil {
		return nil, nil, err
	}
	return nodeGraph{edgeGraph{v.g}}, func() {}, nil
}

// edgeGraph gives a graph.Graph the lineage interface.
type edgeGraph struct{ *graph.Graph }

func (g edgeGraph) Index(id graph.ModelID) (int32, bool) {
	i, ok := g.Graph.Index(id)
	return int32(i), ok
}

// resolveEcosystem finds the models spec names and walks their families on
// s.
func (e *Engine) resolveEcosystem(ctx context.Context, s lineage, spec string) (*ecosystem, error) {
	eco, err := graph.ParseEcosystem(spec)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	seen := map[graph.ModelID]bool{}
	var matched []graph.ModelID
	for _, p := range eco.Patterns {
		var ids []graph.ModelID
		if !p.Glob() {
			id, err := e.Resolve(ctx, p.String())
			if err != nil {
				return nil, err
			}
			ids = []graph.ModelID{id}
		} else if ids, err = e.st.MatchModels(ctx, p); err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			hint := "crawl it first: hflineage crawl '" + p.String() + "'"
			if p.Org() == "" {
				hint = "name the organisation to crawl it: hflineage crawl 'ORG/…'"
			}
			return nil, fmt.Errorf("%w %s (%s)", ErrNoMatch, p, hint)
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				matched = append(matched, id)
			}
		}
	}
	slices.Sort(matched)
	var roots []int32
	for _, id := range matched {
		if i, ok := s.Index(id); ok {
			roots = append(roots, i)
		}
	}
	w, err := graph.WalkEcosystem(ctx, s, roots)
	if err != nil {
		return nil, err
	}
	return &ecosystem{spec: eco, matched: matched, walk: w}, nil
}

// EcosystemCount is the size of an ecosystem: count --json of a pattern.
type EcosystemCount struct {
	Ecosystem string `json:"ecosystem"`
	// Matched counts the models the patterns match: the roots.
	Matched int `json:"matched"`
	// Children and Descendants count the members (never a root) as
	// Count does for one model's family; each member once.
	Children    graph.RelationCounts `json:"children"`
	Descendants graph.RelationCounts `json:"descendants"`
	MaxDepth    int                  `json:"max_depth"`
	// Shared counts the members that descend from two roots or more.
	Shared int `json:"shared"`
	// Roots lists the roots with derivatives, each with its own family
	// (other roots included when they descend from it), largest first.
	Roots []graph.FamilyCount `json:"roots"`
	// RootsWithout counts the roots without derivatives.
	RootsWithout int `json:"roots_without_derivatives"`
	// Crawled is when the oldest of the crawls the data comes from
	// finished (RFC 3339, UTC; "" when no run covered the roots).
	Crawled    string      `json:"crawled,omitempty"`
	Complete   bool        `json:"complete"`
	Incomplete *Incomplete `json:"incomplete,omitempty"`
	// Popularity is the members' (never a root's), as Count sums a
	// family's descendants.
	graph.Popularity
}

// CountEcosystem sizes the ecosystem spec names (see IsEcosystem): its
// members by relation, its depth, the members shared by roots, each
// root's own family, and when and how completely the data was crawled. A
// pattern that matches no model fails with ErrNoMatch.
func (e *Engine) CountEcosystem(ctx context.Context, spec string) (EcosystemCount, error) {
	var s lineage
	if l := e.live.Load(); l != nil {
		s = l.g.Current()
	} else {
		// Edges only (cheaper to load than every model's attributes).
		g, err := e.st.CachedEdgeGraph(ctx)
		if err != nil {
			return EcosystemCount{}, err
		}
		s = edgeGraph{g}
	}
	eco, err := e.resolveEcosystem(ctx, s, spec)
	if err != nil {
		return EcosystemCount{}, err
	}
	w := eco.walk
	c := EcosystemCount{Ecosystem: spec, Matched: len(eco.matched), Children: w.Children, Descendants: w.Descendants,
		MaxDepth: w.MaxDepth, Shared: w.Shared, Roots: []graph.FamilyCount{}}
	own, err := w.OwnFamilies(ctx, s)
	if err != nil {
		return EcosystemCount{}, err
	}
	c.Roots = append(c.Roots, own...)
	c.RootsWithout = len(eco.matched) - len(c.Roots)
	if c.Popularity, err = e.membersPopularity(ctx, s, w.Members); err != nil {
		return EcosystemCount{}, err
	}
	slices.SortFunc(c.Roots, func(a, b graph.FamilyCount) int {
		return cmp.Or(cmp.Compare(b.Descendants.Total, a.Descendants.Total), cmp.Compare(a.Model, b.Model))
	})
	if c.Incomplete, c.Crawled, err = e.ecosystemCrawls(ctx, eco.matched); err != nil {
		return EcosystemCount{}, err
	}
	c.Complete = c.Incomplete == nil
	return c, ctx.Err()
}

// membersPopularity sums the popularity of members, nodes of s: from s
// when it holds the models' attributes (the live graph), else from the
// database.
func (e *Engine) membersPopularity(ctx context.Context, s lineage, members []int32) (graph.Popularity, error) {
	if ls, ok := s.(*live.Snapshot); ok {
		var p graph.Popularity
		for _, m := range members {
			ls.AddPopularity(&p, m)
		}
		return p, ctx.Err()
	}
	if a, ok := s.(attributed); ok {
		var p graph.Popularity
		for _, m := range members {
			info := a.Info(m)
			p.Add(&info)
		}
		return p, ctx.Err()
	}
	ids := make([]graph.ModelID, len(members))
	for k, m := range members {
		ids[k] = s.NodeID(m)
	}
	return e.st.Popularity(ctx, ids)
}

// ecosystemCrawls says which of the last crawls of the roots' families
// did not complete (nil when all did) and when the oldest of them finished
// (RFC 3339; "" when no run covered them).
func (e *Engine) ecosystemCrawls(ctx context.Context, roots []graph.ModelID) (in *Incomplete, crawled string, err error) {
	ok, run, covering, err := e.st.FamiliesComplete(ctx, roots)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		in = e.unfinished("", run)
	}
	var oldest time.Time
	for _, id := range covering {
		r, err := e.st.GetRun(id)
		if err != nil {
			return nil, "", err
		}
		if t := r.Ended(); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if !oldest.IsZero() {
		crawled = oldest.UTC().Format(time.RFC3339)
	}
	return in, crawled, nil
}

// CompareOptions choose what Compare shows.
type CompareOptions struct {
	Ecosystems []string // two or more ecosystem specs (patterns, comma lists, ids)
	Top        int      // most downloaded members listed per ecosystem (default 5)
	Examples   int      // models listed per overlap (default 5)
}

// Comparison is compare --json: ecosystems side by side.
type Comparison struct {
	Ecosystems []EcosystemSummary `json:"ecosystems"`
	// Overlaps holds one entry per pair of ecosystems, in the order given.
	Overlaps []Overlap `json:"overlaps"`
	// ModelsWithLineage counts the models in the database with a parent
	// or a child: what Share is a share of.
	ModelsWithLineage int `json:"models_with_lineage"`
	// Months is the axis of the ecosystems' growth: every month from the
	// first member's creation to the last's (YYYY-MM).
	Months   []string `json:"months"`
	Complete bool     `json:"complete"`
}

// EcosystemSummary is one ecosystem of a Comparison.
type EcosystemSummary struct {
	Ecosystem   string               `json:"ecosystem"`
	Matched     int                  `json:"matched"`
	Descendants graph.RelationCounts `json:"descendants"`
	MaxDepth    int                  `json:"max_depth"`
	Shared      int                  `json:"shared"`
	// Share is Descendants.Total over the models with lineage.
	Share float64 `json:"share"`
	// CreatedPerMonth and Cumulative follow Comparison.Months: members
	// created that month, and members created up to its end.
	CreatedPerMonth []int `json:"created_per_month"`
	Cumulative      []int `json:"cumulative"`
	// CreatedUnknown counts members without a creation date, or with the
	// placeholder the Hub gives repos older than its records, and stubs
	// (not in the growth).
	CreatedUnknown int `json:"created_unknown"`
	// Top lists the most downloaded members (the Hub's downloads of the
	// last 30 days), most first.
	Top []Member `json:"top"`
	// Licenses counts the members by license, most common first ("" for
	// members that declare none).
	Licenses []LicenseCount `json:"licenses"`
	// KeepsBaseLicense is the share of members with the license of the
	// root they descend from (the nearest), of the members whose root
	// declares one (BaseLicenseKnown of them).
	KeepsBaseLicense float64 `json:"keeps_base_license"`
	BaseLicenseKnown int     `json:"base_license_known"`
	Complete         bool    `json:"complete"`
	Crawled          string  `json:"crawled,omitempty"`
}

// Member is a member of an ecosystem and its popularity.
type Member struct {
	Model     graph.ModelID `json:"model"`
	Downloads int64         `json:"downloads"`
	Likes     int64         `json:"likes"`
	License   string        `json:"license,omitempty"`
}

// LicenseCount is how many members declare a license.
type LicenseCount struct {
	License string `json:"license"`
	Members int    `json:"members"`
}

// Overlap is what two ecosystems share: the models that descend from both.
type Overlap struct {
	A        string   `json:"a"`
	B        string   `json:"b"`
	Members  int      `json:"members"`
	Examples []Member `json:"examples"` // the most downloaded of them
}

// Compare describes two or more ecosystems side by side on one snapshot of
// the data: members by relation, their share of the models with lineage,
// growth by month of creation, the most downloaded members, the license
// mix, and each pair's overlap.
func (e *Engine) Compare(ctx context.Context, o CompareOptions) (Comparison, error) {
	if len(o.Ecosystems) < 2 {
		return Comparison{}, invalidf("compare: name two ecosystems or more (patterns such as 'meta-llama/*')")
	}
	if o.Top == 0 {
		o.Top = 5
	}
	if o.Examples == 0 {
		o.Examples = 5
	}
	if o.Top < 1 || o.Examples < 1 {
		return Comparison{}, invalidf("compare: top and examples must be at least 1")
	}
	s, release, err := e.attributed(ctx)
	if err != nil {
		return Comparison{}, err
	}
	defer release()
	ecos := make([]*ecosystem, len(o.Ecosystems))
	for i, spec := range o.Ecosystems {
		if ecos[i], err = e.resolveEcosystem(ctx, s, spec); err != nil {
			return Comparison{}, err
		}
	}
	out := Comparison{ModelsWithLineage: withLineage(s), Complete: true, Months: []string{}}
	monthly := make([]map[string]int, len(ecos))
	for i, eco := range ecos {
		sum, months := summarize(s, eco, o.Top, out.ModelsWithLineage)
		in, crawled, err := e.ecosystemCrawls(ctx, eco.matched)
		if err != nil {
			return Comparison{}, err
		}
		sum.Complete, sum.Crawled = in == nil, crawled
		out.Complete = out.Complete && sum.Complete
		out.Ecosystems = append(out.Ecosystems, sum)
		monthly[i] = months
		if err := ctx.Err(); err != nil {
			return Comparison{}, err
		}
	}
	out.Months = monthAxis(monthly)
	for i := range out.Ecosystems {
		sum := &out.Ecosystems[i]
		total := 0
		for _, m := range out.Months {
			total += monthly[i][m]
			sum.CreatedPerMonth = append(sum.CreatedPerMonth, monthly[i][m])
			sum.Cumulative = append(sum.Cumulative, total)
		}
	}
	for i := range ecos {
		set := ecos[i].walk.MemberSet(s.NodeCount())
		for j := i + 1; j < len(ecos); j++ {
			ov := Overlap{A: o.Ecosystems[i], B: o.Ecosystems[j], Examples: []Member{}}
			var both []int32
			for _, m := range ecos[j].walk.Members {
				if set.Has(m) {
					both = append(both, m)
				}
			}
			ov.Members = len(both)
			ov.Examples = topMembers(s, both, o.Examples)
			out.Overlaps = append(out.Overlaps, ov)
		}
	}
	return out, ctx.Err()
}

// withLineage counts the nodes of s with an edge in or out (a self-loop
// alone counts).
func withLineage(s graph.Adjacency) int {
	n := s.NodeCount()
	has := graph.NewBitset(n)
	count := 0
	for i := range int32(n) {
		kids, _ := s.Out(i)
		if len(kids) > 0 && has.Add(i) {
			count++
		}
		for _, k := range kids {
			if has.Add(k) {
				count++
			}
		}
	}
	return count
}

// placeholder is the creation date the Hub gives repos older than its
// records (Unix seconds): unknown, as stats counts it.
var placeholder = graph.PlaceholderCreatedAt.Unix()

// summarize describes one ecosystem; months counts its members by month
// of creation (YYYY-MM).
func summarize(s attributed, eco *ecosystem, top, withLineage int) (EcosystemSummary, map[string]int) {
	w := eco.walk
	sum := EcosystemSummary{Ecosystem: eco.spec.Name, Matched: len(eco.matched), Descendants: w.Descendants,
		MaxDepth: w.MaxDepth, Shared: w.Shared, Licenses: []LicenseCount{}}
	if withLineage > 0 {
		sum.Share = float64(w.Descendants.Total) / float64(withLineage)
	}
	months := map[string]int{}
	licenses := map[string]int{}
	rootLicense := make([]string, len(w.Roots))
	for k, r := range w.Roots {
		rootLicense[k] = strings.ToLower(s.Info(r).License)
	}
	kept := 0
	tops := topList{n: top}
	for k, m := range w.Members {
		info := s.Info(m)
		tops.add(s, m, info.Downloads)
		if info.Created != 0 && info.Created != placeholder && !info.Stub {
			months[time.Unix(info.Created, 0).UTC().Format("2006-01")]++
		} else {
			sum.CreatedUnknown++
		}
		licenses[info.License]++
		if base := rootLicense[w.Origin[k]]; base != "" {
			sum.BaseLicenseKnown++
			if strings.ToLower(info.License) == base {
				kept++
			}
		}
	}
	if sum.BaseLicenseKnown > 0 {
		sum.KeepsBaseLicense = float64(kept) / float64(sum.BaseLicenseKnown)
	}
	for l, n := range licenses {
		sum.Licenses = append(sum.Licenses, LicenseCount{License: l, Members: n})
	}
	slices.SortFunc(sum.Licenses, func(a, b LicenseCount) int {
		return cmp.Or(cmp.Compare(b.Members, a.Members), cmp.Compare(a.License, b.License))
	})
	sum.Top = tops.members(s)
	return sum, months
}

// topMembers returns the n most downloaded of members (ties by id).
func topMembers(s attributed, members []int32, n int) []Member {
	top := topList{n: n}
	for _, m := range members {
		top.add(s, m, s.Info(m).Downloads)
	}
	return top.members(s)
}

// topList keeps the n most downloaded nodes of those it is given, most
// first (ties by id).
type topList struct {
	n   int
	top []ranked
}

type ranked struct {
	i         int32
	downloads int64
}

func (t *topList) add(s attributed, i int32, downloads int64) {
	r := ranked{i, downloads}
	better := func(a, b ranked) bool { // a ranks before b
		if a.downloads != b.downloads {
			return a.downloads > b.downloads
		}
		return s.NodeID(a.i) < s.NodeID(b.i)
	}
	if len(t.top) == t.n && !better(r, t.top[t.n-1]) {
		return
	}
	k := len(t.top)
	for k > 0 && better(r, t.top[k-1]) {
		k--
	}
	if len(t.top) < t.n {
		t.top = append(t.top, ranked{})
	}
	copy(t.top[k+1:], t.top[k:])
	t.top[k] = r
}

func (t *topList) members(s attributed) []Member {
	out := []Member{}
	for _, r := range t.top {
		info := s.Info(r.i)
		out = append(out, Member{Model: s.NodeID(r.i), Downloads: info.Downloads, Likes: info.Likes, License: info.License})
	}
	return out
}

// monthAxis lists every month from the first to the last any of months
// counts.
func monthAxis(months []map[string]int) []string {
	var first, last string
	for _, ms := range months {
		for m := range ms {
			if first == "" || m < first {
				first = m
			}
			if m > last {
				last = m
			}
		}
	}
	axis := []string{}
	if first == "" {
		return axis
	}
	t, err := time.Parse("2006-01", first)
	if err != nil {
		return axis
	}
	for m := first; m <= last; m = t.Format("2006-01") {
		axis = append(axis, m)
		t = t.AddDate(0, 1, 0)
	}
	return axis
}

// OrgSize is an organisation's ecosystem: its models and their
// derivatives (models of other organisations descending from them).
type OrgSize = graph.OrgSize

// Organisations returns the top organisations by derivatives: the largest
// ecosystems of the form "ORG/*". From a view, as the statistics: a live
// Engine's may be a little behind its newest commits.
func (e *Engine) Organisations(ctx context.Context, top int) ([]OrgSize, error) {
	if top < 1 {
		return nil, invalidf("organisations: top must be at least 1")
	}
	v, err := e.view(ctx)
	if err != nil {
		return nil, err
	}
	v.orgs.mu.Lock()
	defer v.orgs.mu.Unlock()
	if v.orgs.list == nil {
		list, err := graph.Organisations(ctx, v.g, 0)
		if err != nil {
			return nil, err // a cancelled computation is tried again
		}
		v.orgs.list = append(list, graph.OrgSize{})[:len(list)] // not nil when none
	}
	list := v.orgs.list
	return slices.Clone(list[:min(top, len(list))]), nil
}

// EcosystemHistory is how an ecosystem grew: history --json of a pattern.
type EcosystemHistory struct {
	Ecosystem string       `json:"ecosystem"`
	Runs      []HistoryRun `json:"runs"` // oldest first
}

// HistoryOfEcosystem sizes the ecosystem spec names after every run: the
// graph as each run left it is the current one (a live Engine's latest
// view, which may lag the newest commits by seconds while a crawl writes)
// less what the later runs
// changed (their logs of models and edges added and removed), its roots
// the models the patterns matched then. Runs before the first that logged
// its changes (a crawl into an empty database logs none) are not shown.
func (e *Engine) HistoryOfEcosystem(ctx context.Context, spec string) (EcosystemHistory, error) {
	// From the view's compact graph (a live Engine's latest, never copied
	// here): the runs are undone on an overlay of it.
	v, err := e.view(ctx)
	if err != nil {
		return EcosystemHistory{}, err
	}
	past := live.New(v.g, v.version)
	version := v.version
	eco, err := e.resolveEcosystem(ctx, past.Current(), spec)
	if err != nil {
		return EcosystemHistory{}, err
	}
	h := EcosystemHistory{Ecosystem: spec, Runs: []HistoryRun{}}
	runs, err := e.st.Runs(ctx)
	if err != nil || len(runs) == 0 {
		return h, err
	}
	walk := eco.walk // the ecosystem after the last run
	matched := map[graph.ModelID]bool{}
	for _, id := range eco.matched {
		matched[id] = true
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		finished := r.Ended()
		h.Runs = append(h.Runs, HistoryRun{Run: r.ID, Finished: finished.UTC().Format(time.RFC3339), Mode: r.Mode, Descendants: walk.Descendants})
		if !r.LogChanges {
			break // the run started from an empty database
		}
		// Undo the run: the graph as the run before left it.
		ch, err := e.st.Changes(ctx, r.ID, eco.spec.Match, func(graph.Edge) bool { return true })
		if err != nil {
			return h, err
		}
		for _, id := range ch.ModelsAdded {
			delete(matched, id)
		}
		for _, id := range ch.ModelsRemoved {
			matched[id] = true
		}
		cur := past.Current()
		d := graph.Delta{Version: version + 1}
		for _, ed := range ch.EdgesAdded {
			d.Changes = append(d.Changes, graph.Change{Op: graph.RemoveEdge, Edge: ed})
		}
		for _, ed := range ch.EdgesRemoved {
			if !hasEdge(cur, ed) {
				d.Changes = append(d.Changes, graph.Change{Op: graph.AddEdge, Edge: ed})
			}
		}
		version++
		past.Apply(d) // versions follow one another: no gap
		then := past.Current()
		var roots []int32
		for id := range matched {
			if k, ok := then.Index(id); ok {
				roots = append(roots, k)
			}
		}
		if walk, err = graph.WalkEcosystem(ctx, then, roots); err != nil {
			return h, err
		}
	}
	slices.Reverse(h.Runs)
	return h, ctx.Err()
}

// hasEdge reports whether s holds edge e.
func hasEdge(s *live.Snapshot, e graph.Edge) bool {
	p, ok1 := s.Index(e.Parent)
	c, ok2 := s.Index(e.Child)
	if !ok1 || !ok2 {
		return false
	}
	kids, rels := s.Out(p)
	for k := range kids {
		if kids[k] == c && rels[k] == e.Relation {
			return true
		}
	}
	return false
}
