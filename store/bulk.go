package store

import (
	"context"
	"hash/maphash"
	"math/bits"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// A bulk run is a first scan into an empty database (no models, no runs
// before it; see NewRun). It writes what the diffing path writes, key for
// key, but without reading first what an empty database cannot hold: a
// model's earlier record, a parent's record before writing its stub, an
// alias before setting it. Its page commits stay atomic transactions with
// the crawl's position, so a crash loses at most the page in flight and a
// resumed bulk run goes on as before (the index below is rebuilt from the
// keys on disk).
//
// What lets it skip the reads is a bulkIndex of every model and alias key
// the run wrote: a Bloom filter (a superset: a key it says may exist is read,
// as on the diffing path, so a false positive costs a read, never a wrong
// write) and the exact set of parents known stored, since popular parents
// are named by thousands of children. The change log of a bulk run is
// compact as it is for any run into an empty database: LogChanges is off
// and diff reports everything in it as added.
type bulkIndex struct {
	run     uint64
	keys    bloom
	present map[graph.ModelID]bool // ids known stored (model or stub), among the parents named so far
}

// newBulkIndex indexes the model and alias keys in the database (none
// for a new run; a resumed one finds its committed pages).
func (s *Store) newBulkIndex(ctx context.Context, run uint64) (*bulkIndex, error) {
	idx := &bulkIndex{run: run, keys: newBloom(bloomFirst), present: map[graph.ModelID]bool{}}
	err := s.View(ctx, func(r *Reader) error {
		for _, prefix := range [][]byte{pModel, pAlias} {
			it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: prefix})
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				if err := r.step(); err != nil {
					it.Close()
					return err
				}
				idx.keys.add(it.Item().Key())
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// mayHave reports whether key may be in the database: false means it is not.
func (idx *bulkIndex) mayHave(key []byte) bool { return idx.keys.mayHave(key) }

// wrote notes a model or alias key written by the run.
func (idx *bulkIndex) wrote(key []byte) { idx.keys.add(key) }

// bloom is a Bloom filter that grows by layers: each new layer holds twice
// the keys of the one before at about 1% false positives (10 bits and 7
// probes a key), so it needs no size up front.
type bloom struct {
	seed   maphash.Seed
	first  int // keys in the first layer
	layers []bloomLayer
}

type bloomLayer struct {
	bits     []uint64
	mask     uint64 // len(bits)*64 - 1 (a power of two)
	n, limit int
}

const (
	bloomFirst  = 1 << 20 // keys in an index's first layer (1.25 MiB)
	bloomProbes = 7
)

func newBloom(first int) bloom { return bloom{seed: maphash.MakeSeed(), first: first} }

func (b *bloom) add(key []byte) {
	if len(b.layers) == 0 || b.layers[len(b.layers)-1].n >= b.layers[len(b.layers)-1].limit {
		limit := b.first << len(b.layers)
		words := 1 << bits.Len(uint(limit*10/64-1)) // ≥ 10 bits a key, a power of two
		b.layers = append(b.layers, bloomLayer{bits: make([]uint64, words), mask: uint64(words*64 - 1), limit: limit})
	}
	l := &b.layers[len(b.layers)-1]
	h1, h2 := b.hash(key)
	for i := uint64(0); i < bloomProbes; i++ {
		p := (h1 + i*h2) & l.mask
		l.bits[p/64] |= 1 << (p % 64)
	}
	l.n++
}

func (b *bloom) mayHave(key []byte) bool {
	h1, h2 := b.hash(key)
	for i := range b.layers {
		l := &b.layers[i]
		found := true
		for j := uint64(0); j < bloomProbes && found; j++ {
			p := (h1 + j*h2) & l.mask
			found = l.bits[p/64]&(1<<(p%64)) != 0
		}
		if found {
			return true
		}
	}
	return false
}

func (b *bloom) hash(key []byte) (uint64, uint64) {
	h := maphash.Bytes(b.seed, key)
	return h, h>>32 | h<<32 | 1 // odd: the probes cycle through the whole layer
}
