package crawler_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/graph"
)

// memSink is a crawler.Sink in memory: what a walk needs from a database,
// and no more. A commit works on a copy of the state and swaps it in.
type memSink struct {
	mu   sync.Mutex
	data memData
	runs map[uint64]crawler.Run
}

type memData struct {
	models    map[graph.ModelID]memModel
	seen      map[graph.ModelID]int
	todo      map[crawler.Pending]string // the queue: {ID, Depth} → Next
	job       *crawler.Job
	tally     crawler.Tally
	last      *crawler.LastScan
	pageSize  int
	snapshots map[graph.ModelID]map[uint64]graph.RelationCounts
}

type memModel struct {
	graph.Model
	parents []graph.Parent
	run     uint64 // the run that stored it last
}

func newMemSink() *memSink {
	return &memSink{runs: map[uint64]crawler.Run{}, data: memData{
		models: map[graph.ModelID]memModel{}, seen: map[graph.ModelID]int{},
		todo:      map[crawler.Pending]string{},
		snapshots: map[graph.ModelID]map[uint64]graph.RelationCounts{},
	}}
}

func (d memData) clone() memData {
	c := d
	c.models, c.seen, c.todo = maps.Clone(d.models), maps.Clone(d.seen), maps.Clone(d.todo)
	c.snapshots = map[graph.ModelID]map[uint64]graph.RelationCounts{}
	for id, s := range d.snapshots {
		c.snapshots[id] = maps.Clone(s)
	}
	return c
}

func (s *memSink) CrawlJob() (crawler.Job, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.job == nil {
		return crawler.Job{}, false, nil
	}
	return *s.data.job, true, nil
}

func (s *memSink) CrawlTally() (crawler.Tally, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.tally, nil
}

func (s *memSink) CrawlProgress() (bool, error) {
	t, err := s.CrawlTally()
	return t.Pages > 0, err
}

func (s *memSink) ClearCrawl() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.job, s.data.tally = nil, crawler.Tally{}
	clear(s.data.seen)
	clear(s.data.todo)
	return nil
}

func (s *memSink) NewRun(mode string, full bool, seeds []string) (*crawler.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := crawler.Run{ID: uint64(len(s.runs) + 1), Mode: mode, Full: full, Seeds: seeds, Started: time.Now().UTC(),
		LogChanges: len(s.data.models) > 0}
	s.runs[r.ID] = r
	return &r, nil
}

func (s *memSink) GetRun(id uint64) (*crawler.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %d not found", id)
	}
	return &r, nil
}

func (s *memSink) Commit(run *crawler.Run, fn func(crawler.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	work := *run
	tx := &memTx{d: s.data.clone(), run: &work}
	if err := fn(tx); err != nil {
		return err
	}
	s.data, s.runs[work.ID], *run = tx.d, work, work
	return nil
}

func (s *memSink) NextPending(after *crawler.Pending, n int) ([]crawler.Pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crawler.Pending
	for p, next := range s.data.todo {
		if after == nil || cmpPending(p, *after) > 0 {
			p.Next = next
			out = append(out, p)
		}
	}
	slices.SortFunc(out, cmpPending)
	return out[:min(n, len(out))], nil
}

func cmpPending(a, b crawler.Pending) int {
	return cmp.Or(cmp.Compare(a.Depth, b.Depth), strings.Compare(string(a.ID), string(b.ID)))
}

func (s *memSink) Lookup(name string) (graph.Model, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.data.models[graph.ModelID(name)]; ok {
		return m.Model, nil
	}
	for id, m := range s.data.models { // renames are not kept: only letter case
		if strings.EqualFold(string(id), name) {
			return m.Model, nil
		}
	}
	return graph.Model{}, fmt.Errorf("model %s not found", name)
}

// ChildEdges makes the stored graph a graph.EdgeSource (caller holds mu).
func (d memData) ChildEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	var es []graph.Edge
	for child, m := range d.models {
		for _, p := range m.parents {
			if p.ID == id {
				es = append(es, graph.Edge{Parent: id, Child: child, Relation: p.Relation})
			}
		}
	}
	slices.SortFunc(es, func(a, b graph.Edge) int { return strings.Compare(string(a.Child), string(b.Child)) })
	for _, e := range es {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *memSink) FamilyCount(ctx context.Context, root graph.ModelID) (graph.FamilyCount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := graph.LoadFamily(ctx, s.data, root, -1)
	if err != nil {
		return graph.FamilyCount{}, err
	}
	return f.Count(), nil
}

func (s *memSink) UnseenMembers(ctx context.Context, roots []graph.ModelID, maxDepth int) ([]graph.ModelID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []graph.ModelID
	for _, root := range roots {
		f, err := graph.LoadFamily(ctx, s.data, root, maxDepth)
		if err != nil {
			return nil, err
		}
		for _, id := range f.Members[1:] {
			if _, seen := s.data.seen[id]; !seen && !s.data.models[id].Stub && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *memSink) Graph(ctx context.Context) (*graph.Graph, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := graph.NewGraphBuilder(len(s.data.models))
	for id := range s.data.models {
		b.Node(id, nil)
	}
	for id, m := range s.data.models {
		for _, p := range m.parents {
			if err := b.Edge(graph.Edge{Parent: p.ID, Child: id, Relation: p.Relation}); err != nil {
				return nil, err
			}
		}
	}
	return b.Graph(), nil
}

func (s *memSink) LastScan() (crawler.LastScan, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.last == nil {
		return crawler.LastScan{}, false, nil
	}
	return *s.data.last, true, nil
}

func (s *memSink) MaxPageSize() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.pageSize, nil
}

func (s *memSink) RemoveUnseen(ctx context.Context, run *crawler.Run) error {
	s.mu.Lock()
	var gone []graph.ModelID
	for id, m := range s.data.models {
		if m.Stub || m.run != run.ID {
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	return s.Commit(run, func(tx crawler.Tx) error {
		for _, id := range gone {
			tx.RemoveGone(id)
		}
		for _, id := range gone {
			tx.DropOrphanStub(id)
		}
		return nil
	})
}

func (s *memSink) Tidy(context.Context, bool) error { return nil }

// memTx is one commit: it changes a copy of the sink's data.
type memTx struct {
	d   memData
	run *crawler.Run
}

func (tx *memTx) PutCrawled(m graph.Model, parents []graph.Parent) (earlier int, again bool, err error) {
	old, found := tx.d.models[m.ID]
	if found && !old.Stub && old.run == tx.run.ID {
		earlier, again = len(old.parents), true
	}
	if !found || old.Stub {
		tx.run.ModelsAdded++
	}
	for _, p := range parents {
		if !slices.Contains(old.parents, p) {
			tx.run.EdgesAdded++
		}
		if _, ok := tx.d.models[p.ID]; !ok && p.ID != m.ID {
			tx.d.models[p.ID] = memModel{Model: graph.Model{ID: p.ID, Stub: true}}
		}
	}
	for _, p := range old.parents {
		if !slices.Contains(parents, p) {
			tx.run.EdgesRemoved++
		}
	}
	tx.d.models[m.ID] = memModel{Model: m, parents: parents, run: tx.run.ID}
	return earlier, again, nil
}

func (tx *memTx) PutAlias(string, graph.ModelID) error { return nil } // Lookup finds other letter cases

func (tx *memTx) Enqueue(id graph.ModelID, depth int, firstURL string) (bool, error) {
	isNew, _ := tx.MarkSeen(id, depth)
	if isNew {
		return true, tx.SetNext(id, depth, firstURL)
	}
	return false, nil
}

func (tx *memTx) MarkSeen(id graph.ModelID, depth int) (bool, error) {
	if _, ok := tx.d.seen[id]; ok {
		return false, nil
	}
	tx.d.seen[id] = depth
	return true, nil
}

func (tx *memTx) SetNext(id graph.ModelID, depth int, next string) error {
	tx.d.todo[crawler.Pending{ID: id, Depth: depth}] = next
	return nil
}

func (tx *memTx) Done(id graph.ModelID, depth int) error {
	delete(tx.d.todo, crawler.Pending{ID: id, Depth: depth})
	return nil
}

func (tx *memTx) hasChildren(id graph.ModelID) bool {
	found := errors.New("found")
	return tx.d.ChildEdges(id, func(graph.Edge) error { return found }) != nil
}

func (tx *memTx) RemoveGone(id graph.ModelID) error {
	m, ok := tx.d.models[id]
	if !ok || m.Stub {
		return nil
	}
	tx.run.ModelsRemoved++
	tx.run.EdgesRemoved += int64(len(m.parents))
	delete(tx.d.models, id)
	if tx.hasChildren(id) {
		tx.d.models[id] = memModel{Model: graph.Model{ID: id, Stub: true}}
	}
	return nil
}

func (tx *memTx) DropOrphanStub(id graph.ModelID) error {
	if m, ok := tx.d.models[id]; ok && m.Stub && !tx.hasChildren(id) {
		delete(tx.d.models, id)
	}
	return nil
}

func (tx *memTx) PutSnapshot(id graph.ModelID, run uint64, c graph.RelationCounts) error {
	if tx.d.snapshots[id] == nil {
		tx.d.snapshots[id] = map[uint64]graph.RelationCounts{}
	}
	tx.d.snapshots[id][run] = c
	return nil
}

// ClearCrawl ends the crawl with the commit: the queue and seen set go too
// (the maps are the commit's copies).
func (tx *memTx) ClearCrawl() error {
	tx.d.job, tx.d.tally = nil, crawler.Tally{}
	tx.d.seen, tx.d.todo = map[graph.ModelID]int{}, map[crawler.Pending]string{}
	return nil
}

func (tx *memTx) SetCrawlJob(job crawler.Job) error    { tx.d.job = &job; return nil }
func (tx *memTx) SetCrawlTally(t crawler.Tally) error  { tx.d.tally = t; return nil }
func (tx *memTx) SetLastScan(l crawler.LastScan) error { tx.d.last = &l; return nil }
func (tx *memTx) SetMaxPageSize(n int) error           { tx.d.pageSize = n; return nil }
func (tx *memTx) Run() *crawler.Run                    { return tx.run }
