package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// The whole edge graph is cached in compact form beside the database
// (edges.csr), tagged with the edge version: a counter every transaction
// that adds or removes an edge increments. Counting a large family then
// costs one file read instead of a scan of every edge key.
var edgeVersionKey = []byte("V\x00edges")

const edgeCacheFile = "edges.csr"

func edgeVersion(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(edgeVersionKey)
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

// bumpEdgeVersion is called before a transaction that changed edges commits.
func (tx *Tx) bumpEdgeVersion() error {
	v, err := edgeVersion(tx.txn)
	if err != nil {
		return err
	}
	return tx.txn.Set(edgeVersionKey, binary.BigEndian.AppendUint64(nil, v+1))
}

// CachedEdgeGraph returns the graph of every edge (as EdgeGraph), read from
// the cache file when it matches the database, else built by a scan and
// cached for next time. A cache that cannot be read or written is ignored.
func (s *Store) CachedEdgeGraph() (*graph.Graph, error) {
	var version uint64
	if err := s.db.View(func(txn *badger.Txn) (err error) {
		version, err = edgeVersion(txn)
		return err
	}); err != nil {
		return nil, err
	}
	path := filepath.Join(s.dir, edgeCacheFile)
	if s.dir != "" {
		if b, err := os.ReadFile(path); err == nil {
			if g, tag, err := graph.UnmarshalCSR(b); err == nil && tag == version {
				return g, nil
			}
		}
	}
	g, err := s.EdgeGraph()
	if err != nil {
		return nil, err
	}
	if s.dir != "" {
		s.writeEdgeCache(g, version)
	}
	return g, nil
}

// RefreshEdgeCache rebuilds the cache file if it is stale (after a crawl).
func (s *Store) RefreshEdgeCache() error {
	_, err := s.CachedEdgeGraph()
	return err
}

func (s *Store) writeEdgeCache(g *graph.Graph, version uint64) {
	b, err := g.MarshalCSR(version)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(s.dir, ".edges-*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), filepath.Join(s.dir, edgeCacheFile)) != nil {
		os.Remove(tmp.Name())
	}
}
