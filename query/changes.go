package query

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// Changes of a family over the runs: what a feed of new derivatives shows.
//
// The members of a family (or of an ecosystem) in some state of the
// database are the models reachable from its roots by edges, the roots
// themselves excepted, exactly as Count and CountEcosystem count them; the
// roots are the model (or every model the patterns match, in any state).
// A run R added the members of the family as R left the database that were
// not members as the run before R left it, and removed the members of the
// latter that are not members of the former. Each is told apart by how:
// an added member is "new" when R stored the model itself (first seen, or
// seen again after a removal) and "linked" when the model was stored
// already and an edge R added brought it (and what descends from it) into
// the family; a removed member is "deleted" when R removed the model from
// the database and "unlinked" when only the edges that tied it to the
// family went. Its relations are those of its edges from the root or
// another member, in the state where it is a member.
//
// The states are the current graph less, run by run from the newest, what
// each run logged (store.Changes): the edges a run added are taken out,
// the ones it removed put back. A run that started from an empty database
// logged nothing: everything of the family after it is new, and the runs
// before it are not shown.

// Bounds of a Changes question.
const (
	DefaultChangeRuns = 20   // runs examined without ChangesOptions.Runs
	MaxChangeRuns     = 200  // runs examined at most
	DefaultChangeIDs  = 100  // members listed per run and direction without ChangesOptions.IDs
	MaxChangeIDs      = 1000 // members listed per run and direction at most
)

// ChangesOptions choose the family and the runs Changes describes.
type ChangesOptions struct {
	// Model is a model id or an ecosystem (IsEcosystem: a pattern such as
	// "meta-llama/*", or several names separated by commas).
	Model string
	// Since bounds the runs: "" for none; a run number N for the runs
	// after N; a date, RFC 3339 or YYYY-MM-DD (midnight UTC), for the runs
	// that finished at it or later (an unfinished run: started).
	Since string
	// Runs is how many runs are examined at most, newest first (0:
	// DefaultChangeRuns; 1 to MaxChangeRuns).
	Runs int
	// IDs is how many members are listed per run, of the added and of the
	// removed each (0: DefaultChangeIDs; 1 to MaxChangeIDs); the counts
	// are whole.
	IDs int
}

// Changes is what runs added to a family and removed from it: diff --since
// --json and GET /api/v1/changes.
type Changes struct {
	// Model is the model's id as stored, or the ecosystem as written.
	Model     string `json:"model"`
	Ecosystem bool   `json:"ecosystem,omitempty"`
	Since     string `json:"since,omitempty"`
	// Members counts the family's members now.
	Members int `json:"members"`
	// Runs holds every run examined, newest first, also those that left
	// the family as it was.
	Runs []ChangeRun `json:"runs"`
	// More says that older runs within Since were not examined (the bound
	// on runs).
	More        bool   `json:"more"`
	DataVersion uint64 `json:"data_version"`
}

// ChangeRun is what one run changed in the family.
type ChangeRun struct {
	Run      uint64 `json:"run"`
	Mode     string `json:"mode"`
	Finished string `json:"finished,omitempty"` // RFC 3339, UTC; "" while unfinished
	Started  string `json:"started"`
	Complete bool   `json:"complete"`
	// AllNew: the run started from an empty database; every member after
	// it is new.
	AllNew bool `json:"all_new"`
	// Members counts the family's members after the run.
	Members int `json:"members"`
	// Added and Removed list members by id, at most ChangesOptions.IDs
	// each; AddedCount and RemovedCount count them all, and Truncated
	// says that a list is shorter than its count.
	Added        []ChangedMember `json:"added"`
	Removed      []ChangedMember `json:"removed"`
	AddedCount   int             `json:"added_count"`
	RemovedCount int             `json:"removed_count"`
	Truncated    bool            `json:"truncated"`
}

// Changed reports whether the run added or removed any member.
func (r ChangeRun) Changed() bool { return r.AddedCount+r.RemovedCount > 0 }

// When is the run's time: its end, or its start while unfinished.
func (r ChangeRun) When() string {
	if r.Finished != "" {
		return r.Finished
	}
	return r.Started
}

// How a member came or went.
const (
	ChangeNew      = "new"      // the run stored the model
	ChangeLinked   = "linked"   // an edge the run added brought a stored model in
	ChangeDeleted  = "deleted"  // the run removed the model
	ChangeUnlinked = "unlinked" // the run removed the edges that tied it to the family
)

// ChangedMember is a member a run added or removed.
type ChangedMember struct {
	Model graph.ModelID `json:"model"`
	// Relations are those of its edges from the root or other members
	// (in graph.Relations' order).
	Relations []graph.Relation `json:"relations"`
	Change    string           `json:"change"`
}

// since is a parsed ChangesOptions.Since.
type since struct {
	run  uint64
	date time.Time // zero for a run number
}

// parseSince reads a run number or a date.
func parseSince(s string) (since, error) {
	if s == "" {
		return since{}, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return since{run: n}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return since{date: t}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return since{date: t}, nil
	}
	return since{}, invalidf("since %q: give a run number (the runs after it) or a date (RFC 3339, or YYYY-MM-DD)", s)
}

// includes reports whether run r is within the bound.
func (s since) includes(r *graph.Run) bool {
	if s.date.IsZero() {
		return r.ID > s.run
	}
	return !r.Ended().Before(s.date)
}

// DataVersion returns the version of the data a read would answer from:
// the live graph's, or the database's.
func (e *Engine) DataVersion() (uint64, error) {
	if s := e.Snapshot(); s != nil {
		return s.Version(), nil
	}
	return e.st.DataVersion()
}

// Changes lists, run by run from the newest, the members the runs added to
// the family of o.Model (a model or an ecosystem) and removed from it (see
// the definition above), within o.Since and at most o.Runs runs. A model
// not in the database fails with ErrUnknownModel, a pattern that matches
// none with ErrNoMatch, a bad option with ErrInvalid.
func (e *Engine) Changes(ctx context.Context, o ChangesOptions) (Changes, error) {
	if o.Runs == 0 {
		o.Runs = DefaultChangeRuns
	}
	if o.IDs == 0 {
		o.IDs = DefaultChangeIDs
	}
	if o.Runs < 1 || o.Runs > MaxChangeRuns {
		return Changes{}, invalidf("changes: runs must be from 1 to %d, not %d", MaxChangeRuns, o.Runs)
	}
	if o.IDs < 1 || o.IDs > MaxChangeIDs {
		return Changes{}, invalidf("changes: the ids listed per run must be from 1 to %d, not %d", MaxChangeIDs, o.IDs)
	}
	bound, err := parseSince(o.Since)
	if err != nil {
		return Changes{}, err
	}
	if o.Model == "" {
		return Changes{}, invalidf("changes: name a model or a pattern")
	}
	// The graph first, then the runs and their logs: a run logged after
	// the graph was taken is undone as well, which takes out nothing the
	// graph does not hold.
	var cur lineage
	var version uint64
	if s := e.Snapshot(); s != nil {
		cur, version = s, s.Version()
	} else {
		if version, err = e.st.DataVersion(); err != nil {
			return Changes{}, err
		}
		g, err := e.st.CachedEdgeGraph(ctx)
		if err != nil {
			return Changes{}, err
		}
		cur = edgeGraph{g}
	}
	p := newPast(cur)
	out := Changes{Model: o.Model, Since: o.Since, Runs: []ChangeRun{}, DataVersion: version}
	if IsEcosystem(o.Model) {
		eco, err := e.resolveEcosystem(ctx, cur, o.Model)
		if err != nil {
			return Changes{}, err
		}
		out.Ecosystem = true
		p.match = eco.spec.Match
		for _, id := range eco.matched {
			p.addRoot(p.node(id))
		}
	} else {
		id, err := e.Resolve(ctx, o.Model)
		if err != nil {
			return Changes{}, err
		}
		out.Model = string(id)
		p.addRoot(p.node(id))
	}
	// Newest first; one more than shown tells whether more are within since.
	runs, _, err := e.st.RunsBefore(ctx, 0, o.Runs+1)
	if err != nil {
		return Changes{}, err
	}
	after, err := p.walk(ctx)
	if err != nil {
		return Changes{}, err
	}
	out.Members = len(after.members)
	for i := range runs {
		r := &runs[i]
		if !bound.includes(r) {
			break // runs follow one another: the older ones are not within since either
		}
		if len(out.Runs) == o.Runs {
			out.More = true
			break
		}
		cr := ChangeRun{Run: r.ID, Mode: r.Mode, Complete: r.Complete, AllNew: !r.LogChanges, Members: len(after.members),
			Started: r.Started.UTC().Format(time.RFC3339), Added: []ChangedMember{}, Removed: []ChangedMember{}}
		if !r.Finished.IsZero() {
			cr.Finished = r.Finished.UTC().Format(time.RFC3339)
		}
		before := after
		newModels, gone := map[graph.ModelID]bool{}, map[graph.ModelID]bool{}
		switch {
		case !r.LogChanges:
			before = &state{}
			for _, m := range after.members {
				newModels[p.id(m)] = true
			}
		case r.Changed():
			ch, err := e.st.Changes(ctx, r.ID, nil, nil)
			if err != nil {
				return Changes{}, err
			}
			for _, id := range ch.ModelsAdded {
				newModels[id] = true
			}
			for _, id := range ch.ModelsRemoved {
				gone[id] = true
			}
			if p.undo(after, ch.EdgesAdded, ch.EdgesRemoved) {
				if before, err = p.walk(ctx); err != nil {
					return Changes{}, err
				}
			}
		}
		cr.Added, cr.AddedCount = p.difference(after, before, func(id graph.ModelID) string {
			if newModels[id] {
				return ChangeNew
			}
			return ChangeLinked
		}, o.IDs)
		cr.Removed, cr.RemovedCount = p.difference(before, after, func(id graph.ModelID) string {
			if gone[id] {
				return ChangeDeleted
			}
			return ChangeUnlinked
		}, o.IDs)
		cr.Truncated = cr.AddedCount > len(cr.Added) || cr.RemovedCount > len(cr.Removed)
		out.Runs = append(out.Runs, cr)
		if !r.LogChanges {
			break // nothing logged before: the runs before it are not shown
		}
		after = before
		if err := ctx.Err(); err != nil {
			return Changes{}, err
		}
	}
	return out, ctx.Err()
}

// past is the current lineage graph with overrides that make it the graph
// as an earlier run left it. Nodes are the current graph's, then extras:
// models the current graph no longer holds.
type past struct {
	cur    lineage
	n      int32 // the current graph's nodes
	extras []graph.ModelID
	extra  map[graph.ModelID]int32
	// over holds the edges present (true) or absent (false) in the past
	// state where it differs from the current graph; added, the edges out
	// of each node absent from the current graph; overridden, the nodes
	// with an edge in over.
	over       map[pastEdge]bool
	added      map[int32][]pastEdge
	overridden map[int32]bool
	roots      []int32
	isRoot     map[int32]bool
	match      func(graph.ModelID) bool // an ecosystem's: extras that match are roots
}

type pastEdge struct {
	parent, child int32
	rel           graph.Relation
}

func newPast(cur lineage) *past {
	return &past{cur: cur, n: int32(cur.NodeCount()), extra: map[graph.ModelID]int32{}, over: map[pastEdge]bool{},
		added: map[int32][]pastEdge{}, overridden: map[int32]bool{}, isRoot: map[int32]bool{}}
}

// node returns id's node, adding an extra for a model the current graph
// does not hold.
func (p *past) node(id graph.ModelID) int32 {
	if i, ok := p.cur.Index(id); ok {
		return i
	}
	if i, ok := p.extra[id]; ok {
		return i
	}
	i := p.n + int32(len(p.extras))
	p.extras = append(p.extras, id)
	p.extra[id] = i
	if p.match != nil && p.match(id) {
		p.addRoot(i)
	}
	return i
}

func (p *past) id(i int32) graph.ModelID {
	if i < p.n {
		return p.cur.NodeID(i)
	}
	return p.extras[i-p.n]
}

func (p *past) addRoot(i int32) {
	if !p.isRoot[i] {
		p.isRoot[i] = true
		p.roots = append(p.roots, i)
	}
}

// inCurrent reports whether the current graph holds e.
func (p *past) inCurrent(e pastEdge) bool {
	if e.parent >= p.n || e.child >= p.n {
		return false
	}
	kids, rels := p.cur.Out(e.parent)
	for k := range kids {
		if kids[k] == e.child && rels[k] == e.rel {
			return true
		}
	}
	return false
}

// set makes e present or absent in the state.
func (p *past) set(e graph.Edge, present bool) pastEdge {
	pe := pastEdge{p.node(e.Parent), p.node(e.Child), e.Relation}
	if _, seen := p.over[pe]; !seen && !p.inCurrent(pe) {
		p.added[pe.parent] = append(p.added[pe.parent], pe)
	}
	p.over[pe] = present
	p.overridden[pe.parent] = true
	return pe
}

// undo turns the state a run left (whose walk is after) into the state
// before it: the edges it added go, the ones it removed come back. It
// reports whether the family may differ: whether an edge changed goes out
// of a root or a member.
func (p *past) undo(after *state, added, removed []graph.Edge) bool {
	touched := false
	for _, e := range added {
		pe := p.set(e, false)
		touched = touched || p.isRoot[pe.parent] || after.has(pe.parent)
	}
	for _, e := range removed {
		pe := p.set(e, true)
		touched = touched || p.isRoot[pe.parent] || after.has(pe.parent)
	}
	return touched
}

// out calls fn for each edge out of v in the state.
func (p *past) out(v int32, fn func(child int32, rel graph.Relation)) {
	check := p.overridden[v]
	if v < p.n {
		kids, rels := p.cur.Out(v)
		for k := range kids {
			if check {
				if present, ok := p.over[pastEdge{v, kids[k], rels[k]}]; ok && !present {
					continue
				}
			}
			fn(kids[k], rels[k])
		}
	}
	for _, e := range p.added[v] {
		if p.over[e] {
			fn(e.child, e.rel)
		}
	}
}

// state is the family in one state: its members in breadth-first order,
// the roots and members seen, and each member's relation bits.
type state struct {
	members []int32
	seen    map[int32]bool
	rels    map[int32]uint8
}

func (s *state) has(i int32) bool { return s.seen[i] }

// walk finds the family in the current state of p.
func (p *past) walk(ctx context.Context) (*state, error) {
	s := &state{seen: map[int32]bool{}, rels: map[int32]uint8{}}
	queue := slices.Clone(p.roots)
	for _, r := range queue {
		s.seen[r] = true
	}
	for h := 0; h < len(queue); h++ {
		if h%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		p.out(queue[h], func(c int32, rel graph.Relation) {
			if p.isRoot[c] {
				return // roots are not members
			}
			if !s.seen[c] {
				s.seen[c] = true
				queue = append(queue, c)
			}
			s.rels[c] |= relationBit(rel)
		})
	}
	s.members = queue[len(p.roots):]
	return s, nil
}

func relationBit(r graph.Relation) uint8 {
	if k := slices.Index(graph.Relations, r); k >= 0 {
		return 1 << k
	}
	return 0
}

// difference lists the members of a that are not members of b, sorted by
// id, at most limit of them, and counts them all.
func (p *past) difference(a, b *state, how func(graph.ModelID) string, limit int) ([]ChangedMember, int) {
	var ids []graph.ModelID
	byID := map[graph.ModelID]int32{}
	for _, m := range a.members {
		if !b.has(m) {
			id := p.id(m)
			ids = append(ids, id)
			byID[id] = m
		}
	}
	slices.Sort(ids)
	out := []ChangedMember{}
	for _, id := range ids[:min(limit, len(ids))] {
		cm := ChangedMember{Model: id, Relations: []graph.Relation{}, Change: how(id)}
		bits := a.rels[byID[id]]
		for k, r := range graph.Relations {
			if bits&(1<<k) != 0 {
				cm.Relations = append(cm.Relations, r)
			}
		}
		out = append(out, cm)
	}
	return out, len(ids)
}

// DiffEcosystem is Diff of an ecosystem (o.Model names one: IsEcosystem):
// what the run added and removed that touches it — its roots and current
// members, the edges out of them, and the models removed with such an
// edge — as Diff does for one model's family. Model is the ecosystem as
// written. A pattern that matches no model fails with ErrNoMatch.
func (e *Engine) DiffEcosystem(ctx context.Context, o DiffOptions) (Diff, error) {
	var s lineage
	if snap := e.Snapshot(); snap != nil {
		s = snap
	} else {
		g, err := e.st.CachedEdgeGraph(ctx)
		if err != nil {
			return Diff{}, err
		}
		s = edgeGraph{g}
	}
	eco, err := e.resolveEcosystem(ctx, s, o.Model)
	if err != nil {
		return Diff{}, err
	}
	in := make(map[graph.ModelID]bool, len(eco.matched)+len(eco.walk.Members))
	for _, id := range eco.matched {
		in[id] = true
	}
	for _, m := range eco.walk.Members {
		in[s.NodeID(m)] = true
	}
	d, err := e.Diff(ctx, DiffOptions{Run: o.Run})
	if err != nil {
		return Diff{}, err
	}
	d.Model = graph.ModelID(o.Model)
	withEdge := map[graph.ModelID]bool{}
	keep := func(es []Edge) []Edge {
		out := []Edge{}
		for _, ed := range es {
			if in[ed.Parent] {
				withEdge[ed.Child] = true
				out = append(out, ed)
			}
		}
		return out
	}
	d.EdgesAdded, d.EdgesRemoved = keep(d.EdgesAdded), keep(d.EdgesRemoved)
	keepModels := func(ms []graph.ModelID) []graph.ModelID {
		out := []graph.ModelID{}
		for _, m := range ms {
			if in[m] || withEdge[m] {
				out = append(out, m)
			}
		}
		return out
	}
	d.ModelsAdded, d.ModelsRemoved = keepModels(d.ModelsAdded), keepModels(d.ModelsRemoved)
	return d, ctx.Err()
}
