package store

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// encodeCache builds a cache file's graph from one read view, streaming:
// the sorted ids of every node (every model withNodes, and every edge's
// endpoints) merged from the model, edge and reverse-edge keys, then the
// edges in key order. It holds the encoded graph only, never a
// graph.Graph nor a map of ids: a fraction of LoadGraph's memory. It
// returns the version (of versionKey) the graph was read at. When ctx ends
// it stops and returns ctx's error.
// Rebuilds counts the whole-graph builds from the database (cache files,
// the scan's graph) since the store was opened: a process whose reads must
// not rebuild anything checks it stays put.
func (s *Store) Rebuilds() int64 { return s.rebuilds.Load() }

func (s *Store) encodeCache(ctx context.Context, versionKey []byte, withNodes bool) (*graph.CSRWriter, uint64, error) {
	return s.sortedGraph(ctx, versionKey, withNodes, withNodes)
}

// ScanGraph returns the graph of every model and edge, without node
// attributes, as LoadGraph(ctx, false) does but with its ids sorted and
// built from sorted scans (no id map: a third of the memory at Hub
// scale). A scan's end reads it to snapshot the families. When ctx ends
// it stops and returns ctx's error.
func (s *Store) ScanGraph(ctx context.Context) (*graph.Graph, error) {
	w, _, err := s.sortedGraph(ctx, dataVersionKey, true, false)
	if err != nil {
		return nil, err
	}
	return w.Graph()
}

// sortedGraph builds a graph as encodeCache does: every model a node when
// models (with its attributes when attrs), else only the edges' endpoints.
func (s *Store) sortedGraph(ctx context.Context, versionKey []byte, models, attrs bool) (*graph.CSRWriter, uint64, error) {
	s.rebuilds.Add(1)
	w := graph.NewCSRWriter(attrs)
	if last, ok, _ := s.LastScan(); ok && models && last.Models > 0 {
		// Every model is a node: room for them and their ids (about 30
		// bytes each on the Hub) at once rather than by doubling.
		w.Grow(last.Models+last.Models/16, 32*last.Models)
	}
	var v uint64
	err := s.View(ctx, func(r *Reader) (err error) {
		if v, err = version(r.txn, versionKey); err != nil {
			return err
		}
		if err := r.mergeNodes(w, models, attrs, s.ReleaseTablePages); err != nil {
			return err
		}
		it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pEdge})
		defer it.Close()
		it.Seek(pEdge)
		for n := 1; it.ValidForPrefix(pEdge); n++ {
			if err := r.step(); err != nil {
				return err
			}
			if n%ReleaseEvery == 0 {
				s.ReleaseTablePages()
			}
			parent, child, rel, err := splitEdgeKey(it.Item().Key(), pEdge)
			if err != nil {
				return err
			}
			if err := w.Edge(parent, child, rel); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			it.Next()
		}
		return nil
	})
	s.ReleaseTablePages()
	if err != nil {
		return nil, 0, err
	}
	return w, v, nil
}

// ReleaseEvery is how many keys a long scan (a cache rebuild, a whole
// export) reads between calls of ReleaseTablePages.
const ReleaseEvery = 1 << 16

// splitEdgeKey splits an edge key (forward or reverse) after its prefix
// into its three parts, without copying.
func splitEdgeKey(key, prefix []byte) (a, b, rel []byte, err error) {
	k := key[len(prefix):]
	i := bytes.IndexByte(k, 0)
	j := i + 1 + bytes.IndexByte(k[i+1:], 0)
	if i <= 0 || j <= i+1 || j >= len(k)-1 {
		return nil, nil, nil, fmt.Errorf("%w: malformed edge key %q", ErrCorrupt, key)
	}
	return k[:i], k[i+1 : j], k[j+1:], nil
}

// idStream steps through the distinct ids one key prefix yields in
// order: model ids, edge parents or reverse-edge children.
type idStream struct {
	it     *badger.Iterator
	prefix []byte
	edge   bool   // an edge key: the id is its first part
	id     []byte // current id (valid until the next step); nil at the end
}

func (s *idStream) load() error {
	if !s.it.ValidForPrefix(s.prefix) {
		s.id = nil
		return nil
	}
	k := s.it.Item().Key()
	if !s.edge {
		s.id = k[len(s.prefix):]
		return nil
	}
	a, _, _, err := splitEdgeKey(k, s.prefix)
	s.id = a
	return err
}

// skip steps past every key of id.
func (s *idStream) skip(r *Reader, id []byte) error {
	for s.id != nil && bytes.Equal(s.id, id) {
		if err := r.step(); err != nil {
			return err
		}
		s.it.Next()
		if err := s.load(); err != nil {
			return err
		}
	}
	return nil
}

// mergeNodes gives w every node in id order: the models (with their
// attributes when attrs) and every endpoint of an edge (parents from the
// forward keys, children from the reverse keys), each once; an endpoint
// without a record is a stub.
func (r *Reader) mergeNodes(w *graph.CSRWriter, models, attrs bool, release func()) error {
	prefixes := []struct {
		p    []byte
		edge bool
	}{{pEdge, true}, {pParent, true}}
	if models {
		prefixes = append(prefixes, struct {
			p    []byte
			edge bool
		}{pModel, false})
	}
	streams := make([]*idStream, len(prefixes))
	for i, p := range prefixes {
		it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: !p.edge && attrs, PrefetchSize: 64, Prefix: p.p})
		defer it.Close()
		it.Seek(p.p)
		streams[i] = &idStream{it: it, prefix: p.p, edge: p.edge}
		if err := streams[i].load(); err != nil {
			return err
		}
	}
	stub := graph.NodeInfo{Stub: true}
	for nodes := 1; ; nodes++ {
		if nodes%ReleaseEvery == 0 {
			release()
		}
		var least []byte
		for _, s := range streams {
			if s.id != nil && (least == nil || bytes.Compare(s.id, least) < 0) {
				least = s.id
			}
		}
		if least == nil {
			return nil
		}
		info := &stub
		if attrs {
			if m := streams[2]; m.id != nil && bytes.Equal(m.id, least) {
				var rec record
				if err := m.it.Item().Value(func(v []byte) error { return decodeRecord(v, &rec, true) }); err != nil {
					return fmt.Errorf("%w: model record %q: %v", ErrCorrupt, m.it.Item().Key(), err)
				}
				n := graph.NodeInfoOf(&rec.Model)
				info = &n
			}
		}
		if err := w.Node(least, info); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		id := w.LastID() // least's key moves with its iterator
		for _, s := range streams {
			if err := s.skip(r, id); err != nil {
				return err
			}
		}
	}
}
