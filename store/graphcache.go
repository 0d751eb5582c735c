package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// The whole edge graph is cached in compact form beside the database
// (edges.csr), tagged with the edge version: a counter every transaction
// that adds or removes an edge increments. Counting a large family then
// costs one file read instead of a scan of every edge key.
//
// graph.bin holds every model with the attributes statistics need, and
// every edge, tagged with the data version (bumped by any change).
var (
	edgeVersionKey = []byte("V\x00edges")
	dataVersionKey = []byte("V\x00data")
)

const (
	edgeCacheFile  = "edges.csr"
	graphCacheFile = "graph.bin"
)

// readVersion reads one of the version counters in its own transaction.
func (s *Store) readVersion(key []byte) (uint64, error) {
	var v uint64
	err := s.db.View(func(txn *badger.Txn) (err error) {
		v, err = version(txn, key)
		return err
	})
	return v, err
}

func version(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var v uint64
	err = item.Value(func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("%w: edge version", ErrCorrupt)
		}
		v = binary.BigEndian.Uint64(b)
		return nil
	})
	return v, err
}

// bumpVersions is called before a transaction commits: it advances the
// versions of what the transaction changed, so caches know they are stale.
func (tx *Tx) bumpVersions() error {
	for _, k := range []struct {
		changed bool
		key     []byte
	}{{tx.edgesChanged, edgeVersionKey}, {tx.dataChanged, dataVersionKey}} {
		if !k.changed {
			continue
		}
		v, err := version(tx.txn, k.key)
		if err != nil {
			return err
		}
		if err := tx.txn.Set(k.key, binary.BigEndian.AppendUint64(nil, v+1)); err != nil {
			return err
		}
		if bytes.Equal(k.key, dataVersionKey) {
			tx.dataVersion = v + 1
		}
	}
	return nil
}

// CachedEdgeGraph returns the graph of every edge (as EdgeGraph, with its
// ids sorted), read from the cache file when it matches the database, else
// built by a scan and cached for next time. A cache that cannot be read or
// written is ignored. When ctx ends it stops and returns ctx's error. (A
// long-lived process keeps its graph in memory: package live.)
func (s *Store) CachedEdgeGraph(ctx context.Context) (*graph.Graph, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, err := s.readVersion(edgeVersionKey)
	if err != nil {
		return nil, err
	}
	return s.cachedFile(ctx, edgeCacheFile, v, edgeVersionKey, false)
}

// cachedFile reads file's graph when it is of version v, else builds it
// from the database (encodeCache) and writes the file for next time.
func (s *Store) cachedFile(ctx context.Context, file string, v uint64, versionKey []byte, withNodes bool) (*graph.Graph, error) {
	if s.dir != "" {
		if b, err := os.ReadFile(filepath.Join(s.dir, file)); err == nil {
			if g, tag, err := graph.UnmarshalCSR(b); err == nil && tag == v {
				return g, ctx.Err()
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, tag, err := s.encodeCache(ctx, versionKey, withNodes)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := w.WriteTo(&buf, tag); err != nil {
		return nil, err
	}
	w = nil // the encoded form only, from here on
	if s.dir != "" && !s.readOnly {
		err := s.writeCache(file, func(out io.Writer) error { _, err := out.Write(buf.Bytes()); return err })
		if err != nil {
			// The answer does not need the file: it is only slower next time.
			slog.Warn("the cache file could not be written; reads stay correct, only slower", "err", err)
		}
	}
	g, _, err := graph.UnmarshalCSR(buf.Bytes())
	return g, err
}

// ErrChanged: a commit came while the whole graph was read (a crawl
// writes); asked again once the writes pause, it is read whole.
var ErrChanged = errors.New("store: the database changed while its graph was loaded (a crawl is writing it; ask again when it ends, or read through hflineage serve)")

// VersionedGraph returns the whole graph with node attributes (as
// LoadGraph(true), less tags and the rarer fields, with its ids sorted)
// and the data version it shows: from graph.bin when it is of the current
// version, else built from the database and written to graph.bin for next
// time. No commit may run meanwhile; one that does makes it fail. When ctx
// ends it stops and returns ctx's error.
func (s *Store) VersionedGraph(ctx context.Context) (*graph.Graph, uint64, error) {
	v, err := s.readVersion(dataVersionKey)
	if err != nil {
		return nil, 0, err
	}
	g, err := s.cachedFile(ctx, graphCacheFile, v, dataVersionKey, true)
	if err != nil {
		return nil, 0, err
	}
	if v2, err := s.readVersion(dataVersionKey); err != nil || v2 != v {
		return nil, 0, errors.Join(ErrChanged, err)
	}
	return g, v, nil
}

// OwnGraphCache says that the process's engine writes graph.bin from the
// graph it keeps in memory (WriteGraphCache): RefreshCaches then leaves
// it, rather than rebuild it from every record.
func (s *Store) OwnGraphCache() { s.graphOwned.Store(true) }

// WriteGraphCache writes g, the whole graph with node attributes at data
// version version, as graph.bin: unless the database has moved past
// version (a reader would take the file for stale), is in memory or
// read-only. A file that cannot be written is left as it was, and the
// error returned.
func (s *Store) WriteGraphCache(g *graph.Graph, version uint64) error {
	if s.dir == "" || s.readOnly {
		return nil
	}
	if v, err := s.readVersion(dataVersionKey); err != nil || v != version {
		return err
	}
	if tag, ok := fileTag(filepath.Join(s.dir, graphCacheFile)); ok && tag == version {
		return nil
	}
	return s.writeCache(graphCacheFile, func(out io.Writer) error { return g.WriteCSR(out, version) })
}

// DataVersion is a counter that every change to the database advances:
// answers computed at one version stay true until it changes.
func (s *Store) DataVersion() (uint64, error) { return s.readVersion(dataVersionKey) }

// RefreshCaches rebuilds the stale cache files (after a crawl); the whole
// graph's only when withGraph, as it costs a pass over every record. They
// are written straight from its scans (the graphs are not kept in memory);
// a database in memory or opened read-only has none. A file that cannot be
// written is left as it was, and the error returned after the others are
// refreshed. When ctx ends it stops, leaving the caches stale, and returns
// ctx's error.
//
// The cache files are written straight from the scans, holding the
// encoded graph only (about 230 MiB for 3M models).
func (s *Store) RefreshCaches(ctx context.Context, withGraph bool) error {
	// After a crawl the heap holds much that is free but not yet returned
	// to the system: return it first, so that the rebuild's memory does
	// not come on top of it. The rebuild then holds its encoded graph,
	// which does not move, while decoding records makes garbage: at the
	// default GOGC the heap would grow to twice the graph before a
	// collection, so it collects at a quarter more, for the rebuild only
	// (one rebuild at a time, so that the setting is put back).
	refreshing.Lock()
	defer refreshing.Unlock()
	debug.FreeOSMemory()
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	caches := []struct {
		file      string
		key       []byte
		withNodes bool
	}{{edgeCacheFile, edgeVersionKey, false}, {graphCacheFile, dataVersionKey, true}}
	if !withGraph || s.graphOwned.Load() {
		caches = caches[:1]
	}
	if s.dir == "" || s.readOnly {
		return ctx.Err() // nowhere to keep them: readers build what they read
	}
	var failed error // a cache file that could not be written
	for _, c := range caches {
		err := s.refreshFile(ctx, c.file, c.key, c.withNodes)
		var werr *cacheWriteError
		switch {
		case errors.As(err, &werr):
			failed = errors.Join(failed, err)
		case err != nil:
			return err
		}
	}
	return failed
}

// refreshing serialises RefreshCaches, which changes the GC's setting
// while it runs.
var refreshing sync.Mutex

// refreshFile rewrites a cache file unless it is of the current version.
// A file that cannot be written is left as it is (a *cacheWriteError).
func (s *Store) refreshFile(ctx context.Context, file string, versionKey []byte, withNodes bool) error {
	v, err := s.readVersion(versionKey)
	if err != nil {
		return err
	}
	if tag, ok := fileTag(filepath.Join(s.dir, file)); ok && tag == v {
		return nil
	}
	w, tag, err := s.encodeCache(ctx, versionKey, withNodes)
	if err != nil {
		return err
	}
	return s.writeCache(file, func(out io.Writer) error { return w.WriteTo(out, tag) })
}

// fileTag reads the version a cache file is tagged with.
func fileTag(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	b := make([]byte, graph.CSRHeaderLen)
	if _, err := io.ReadFull(f, b); err != nil {
		return 0, false
	}
	return graph.CSRTag(b)
}

// writeCache replaces file with what write writes, through a temporary
// file renamed into place; on any error the old file stays, no temporary
// file is left, and the error is a *cacheWriteError.
func (s *Store) writeCache(file string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(s.dir, "."+file+"-*.tmp")
	if err != nil {
		return &cacheWriteError{s.dir, file, err}
	}
	werr := write(tmp)
	// Synced before the rename: after a power cut the file is whole or
	// absent, never a valid header over a truncated body.
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return &cacheWriteError{s.dir, file, err}
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, file)); err != nil {
		os.Remove(tmp.Name())
		return &cacheWriteError{s.dir, file, err}
	}
	return nil
}

// cacheWriteError: a cache file could not be written. The database is
// whole; reads build what the file would have held.
type cacheWriteError struct {
	dir, file string
	err       error
}

func (e *cacheWriteError) Error() string {
	return fmt.Sprintf("store: write cache file %s in %s: %v", e.file, e.dir, e.err)
}

func (e *cacheWriteError) Unwrap() error { return e.err }

// seekBudget is how many members a family may have before reading it from
// the cached edge graph is cheaper than a seek per member; edgeBudget is
// how many edges it may have (one seek can yield thousands: the children
// of a popular base).
const (
	seekBudget = 4096
	edgeBudget = 2 * seekBudget
)

var errOverBudget = errors.New("family larger than the seek budget")

// budgeted is an EdgeSource that gives up after a number of lookups or of
// edges.
type budgeted struct {
	src         graph.EdgeSource
	left, edges int
}

func (b *budgeted) ChildEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	if b.left--; b.left < 0 {
		return errOverBudget
	}
	return b.src.ChildEdges(id, func(e graph.Edge) error {
		if b.edges--; b.edges < 0 {
			return errOverBudget
		}
		return fn(e)
	})
}

// smallFamily loads root's family by following the stored edges; ok is
// false when it has more than seekBudget members or edgeBudget edges.
func (s *Store) smallFamily(ctx context.Context, root graph.ModelID, maxDepth int) (f *graph.Family, ok bool, err error) {
	err = s.View(ctx, func(r *Reader) error {
		f, err = graph.LoadFamily(ctx, &budgeted{src: r, left: seekBudget, edges: edgeBudget}, root, maxDepth)
		return err
	})
	if errors.Is(err, errOverBudget) {
		return nil, false, nil
	}
	return f, err == nil, err
}

// Family loads root's family (maxDepth < 0: no bound): a small one by
// following the stored edges, a large one from the cached edge graph. When
// ctx ends it stops and returns ctx's error.
func (s *Store) Family(ctx context.Context, root graph.ModelID, maxDepth int) (*graph.Family, error) {
	if f, ok, err := s.smallFamily(ctx, root, maxDepth); ok || err != nil {
		return f, err
	}
	g, err := s.CachedEdgeGraph(ctx)
	if err != nil {
		return nil, err
	}
	return g.Family(ctx, root, maxDepth)
}

// FamilyCount sizes root's family as graph.Family.Count does, choosing the
// cheaper way as Family does (a family is counted on the edge graph without
// building a Family). When ctx ends it stops and returns ctx's error.
func (s *Store) FamilyCount(ctx context.Context, root graph.ModelID) (graph.FamilyCount, error) {
	if f, ok, err := s.smallFamily(ctx, root, -1); ok || err != nil {
		if err != nil {
			return graph.FamilyCount{}, err
		}
		return f.Count(), nil
	}
	g, err := s.CachedEdgeGraph(ctx)
	if err != nil {
		return graph.FamilyCount{}, err
	}
	i, ok := g.Index(root)
	if !ok {
		return graph.FamilyCount{Model: root}, ctx.Err()
	}
	return g.NewWalker().Count(i, nil), ctx.Err()
}
