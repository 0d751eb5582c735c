package store

import (
	"context"
	"os"
	"path/filepath"

	"github.com/hflineage/hflineage/graph"
)

// NodeTable returns the node attributes of graph.bin, read in place
// (memory-mapped where the system allows) when the file matches the
// database's data version; nil when it does not (it is not rebuilt here:
// callers read the records instead). release unmaps it: the table and
// anything it returned must not be used after. An export of a large family
// takes its members' attributes from here rather than from a seek per
// member.
func (s *Store) NodeTable(ctx context.Context) (t *graph.NodeTable, release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if s.dir == "" {
		return nil, nil, nil
	}
	v, err := s.readVersion(dataVersionKey)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join(s.dir, graphCacheFile))
	if err != nil {
		return nil, nil, nil
	}
	defer f.Close()
	b, unmap, err := mapFile(f)
	if err != nil {
		return nil, nil, nil
	}
	t, tag, err := graph.NewNodeTable(b)
	if err != nil || tag != v {
		unmap()
		return nil, nil, nil
	}
	return t, unmap, nil
}

func readFile(f *os.File) ([]byte, func(), error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}
