// Package store keeps hflineage's lineage graph in an embedded Badger
// database: model records, parent→child edges indexed in both directions,
// aliases (renamed or differently-cased ids), and the state of a crawl in
// progress, so that a crawl can resume after a crash.
//
// Key layout (every id is followed by a 0x00 separator, so a prefix scan for
// "org/model" never matches "org/model-v2"):
//
//	"V\x00schema"                         schema version
//	"m\x00" id                            model record (binary, see record.go; schema 2)
//	"a\x00" lower(id)                     alias → canonical id
//	"e\x00" parent "\x00" child "\x00" rel  forward edge (no value)
//	"p\x00" child "\x00" parent "\x00" rel  reverse edge (no value)
//	"c\x00…"                              crawl state (see crawl.go)
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/hflineage/hflineage/graph"
)

// SchemaVersion is the version of the key layout this package reads and writes.
const SchemaVersion = "2"

// Sentinel errors.
var (
	// ErrNotFound: the model is not in the store.
	ErrNotFound = errors.New("not found")
	// ErrInUse: another process holds the database.
	ErrInUse = errors.New("in use by another hflineage process")
	// ErrNotDB: the directory holds something other than an hflineage database.
	ErrNotDB = errors.New("not an hflineage database")
	// ErrSchema: the database was written by another schema version.
	ErrSchema = errors.New("unsupported database schema version")
	// ErrCorrupt: Badger could not read the database.
	ErrCorrupt = errors.New("database is damaged or unreadable")
)

var (
	schemaKey = []byte("V\x00schema")
	pModel    = []byte("m\x00")
	pAlias    = []byte("a\x00")
	pEdge     = []byte("e\x00")
	pParent   = []byte("p\x00")
)

// Store is an open hflineage database. Its methods are safe for concurrent use.
type Store struct {
	db       *badger.DB
	dir      string
	readOnly bool // opened read-only: cache files are not written

	// bulk is the index of the bulk run in progress (see bulk.go); nil
	// when none, or when a failed commit may have left it wrong.
	bulk struct {
		sync.Mutex
		idx *bulkIndex
	}
	// write is held by every read-write transaction from its start to the
	// end of its commit hook: one writer at a time (conflict detection is
	// off, and transactions read their version counters before writing
	// them), and commits told to the hook in the order they were made.
	write    sync.Mutex
	onCommit func(graph.Delta) // set by OnCommit; nil: changes are not collected
	rebuilds atomic.Int64      // whole-graph builds (Rebuilds)
	// graphOwned: the engine writes graph.bin (OwnGraphCache).
	graphOwned atomic.Bool
	// life ends when Close starts: the store's own long work, done where
	// no caller passes a context (a bulk run's index), stops with it.
	life struct {
		once   sync.Once
		ctx    context.Context
		cancel context.CancelFunc
	}
}

// lifetime is the store's context: it ends when Close starts.
func (s *Store) lifetime() context.Context {
	s.life.once.Do(func() { s.life.ctx, s.life.cancel = context.WithCancel(context.Background()) })
	return s.life.ctx
}

// OnCommit has fn told, after each commit that changed models or edges and
// before the next transaction starts, what the commit changed and the data
// version it made (see graph.Delta): so that a graph kept in memory follows
// the database page by page. fn runs on the committing goroutine and must
// not write to the store. Set it before the first write; nil stops it.
func (s *Store) OnCommit(fn func(graph.Delta)) {
	s.write.Lock()
	s.onCommit = fn
	s.write.Unlock()
}

// Follow runs load while no transaction writes, and has the store tell
// the function load returns every commit after it (as OnCommit does): what
// load read is the database just before the first commit it is told of.
// On an error nothing is told.
func (s *Store) Follow(load func() (func(graph.Delta), error)) error {
	s.write.Lock()
	defer s.write.Unlock()
	fn, err := load()
	if err != nil {
		return err
	}
	s.onCommit = fn
	return nil
}

// WithoutWriters runs fn while no transaction writes: commits wait until
// it returns.
func (s *Store) WithoutWriters(fn func()) {
	s.write.Lock()
	defer s.write.Unlock()
	fn()
}

// committed tells the hook what tx committed.
func (s *Store) committed(tx *Tx) {
	if s.onCommit != nil && tx.dataChanged {
		s.onCommit(graph.Delta{Version: tx.dataVersion, Changes: tx.changes})
	}
}

// Options tune Open.
type Options struct {
	// Verbose lets Badger log at INFO level to stderr; otherwise it is silent.
	Verbose bool
	// ReadOnly opens without writing, under Badger's shared lock: any number
	// of read-only Stores (in any processes) may be open at once, but not
	// beside a writer. It fails on a database that does not exist, and works
	// on read-only media or a directory owned by another user (cache files
	// are then built in memory). After a writer was killed, it repairs the
	// database first when the directory is writable (see recover.go).
	ReadOnly bool
	// MustExist fails, rather than creating one, when there is no database in the directory.
	MustExist bool
	// NoSync skips the fsync after each commit: faster bulk loads, but the
	// last commits may be lost on power failure (not on a process crash).
	NoSync bool
}

// Open opens (creating if needed) the database in dir.
func Open(dir string, o Options) (*Store, error) {
	if err := checkDir(dir, o.ReadOnly || o.MustExist, o.ReadOnly); err != nil {
		return nil, err
	}
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(!o.NoSync).
		WithReadOnly(o.ReadOnly)
	s, err := open(dir, smallMachine(opts, o.Verbose))
	if o.ReadOnly && (errors.Is(err, errNeedsRecovery) || errors.Is(err, ErrInUse)) {
		s, err = openRepaired(dir, opts, o.Verbose, err) // see recover.go
	}
	return s, err
}

// OpenInMemory opens an empty database that lives in memory only (tests).
func OpenInMemory() (*Store, error) {
	return open("", smallMachine(badger.DefaultOptions("").WithInMemory(true), false))
}

func smallMachine(opts badger.Options, verbose bool) badger.Options {
	return opts.
		WithLogger(badgerLogger{verbose: verbose}).
		WithMemTableSize(32 << 20).
		WithNumMemtables(3).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(8).
		// Uncompressed blocks: random reads of model records (exports,
		// counts) spent a third of their time decompressing; lineage data
		// is small, disk is cheap.
		WithCompression(options.None).
		WithBlockCacheSize(128 << 20).
		WithIndexCacheSize(32 << 20).
		WithValueLogFileSize(256 << 20).
		WithNumCompactors(2).
		WithNumGoroutines(4).
		// Writers are serialised by the crawler (one page commit at a
		// time), so Badger's conflict tracking is pure overhead.
		WithDetectConflicts(false)
}

func checkDir(dir string, mustExist, readOnly bool) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if mustExist {
			return fmt.Errorf("database %s does not exist (run `hflineage crawl` first)", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create database directory: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("database %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("database %s: %w (it is a file)", dir, ErrNotDB)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("database %s: %w", dir, err)
	}
	if len(entries) == 0 {
		if mustExist {
			return fmt.Errorf("database %s is empty (run `hflineage crawl` first)", dir)
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		// (edges.csr, the edge cache, lives here too; it alone does not make a database.)
		return fmt.Errorf("database %s: %w (the directory holds other files; choose an empty or new directory)", dir, ErrNotDB)
	}
	if !readOnly {
		if f, err := os.CreateTemp(dir, ".hflineage-write-test-*"); err != nil {
			return fmt.Errorf("database %s is not writable: %w", dir, err)
		} else {
			f.Close()
			os.Remove(f.Name())
		}
	}
	return nil
}

func open(dir string, opts badger.Options) (s *Store, err error) {
	defer func() {
		// Badger can panic on some damaged files; never let that escape.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("database %s: %w: %v", dir, ErrCorrupt, r)
		}
	}()
	db, err := badger.Open(opts)
	for deadline := time.Now().Add(lockSettle); err != nil && lockedByNoOther(dir, err) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		db, err = badger.Open(opts)
	}
	if err != nil {
		msg := err.Error()
		switch {
		case isLocked(err):
			return nil, fmt.Errorf("database %s is %w", dir, ErrInUse)
		case needsRecovery(err):
			return nil, fmt.Errorf("database %s %w", dir, errNeedsRecovery)
		case strings.Contains(msg, "permission denied") || strings.Contains(msg, "read-only file system"):
			return nil, fmt.Errorf("database %s is not writable: %s", dir, firstLine(msg))
		}
		return nil, fmt.Errorf("database %s: %w: %s", dir, ErrCorrupt, firstLine(msg))
	}
	s = &Store{db: db, dir: dir, readOnly: opts.ReadOnly}
	if err := s.checkSchema(opts.ReadOnly); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// lockSettle bounds how long Open waits for a lock that no other writer
// holds to be released.
const lockSettle = time.Second

func isLocked(err error) bool {
	return strings.Contains(err.Error(), "Another process is using this Badger database")
}

// lockedByNoOther reports whether err is Badger's lock refusal while no
// other writing process is recorded in its LOCK file: the lock is held by
// a reader (a shared lock, no record), by a writer between removing its
// record and unlocking, or by a child of this process between fork and
// exec — the directory's descriptor is copied into every child until exec
// closes it, so a database this process has just closed can stay locked
// for a moment while another goroutine starts a program. Each of these
// ends by itself; a writer that records another process does not.
func lockedByNoOther(dir string, err error) bool {
	if !isLocked(err) {
		return false
	}
	b, rerr := os.ReadFile(filepath.Join(dir, "LOCK"))
	if errors.Is(rerr, os.ErrNotExist) {
		return true
	}
	return rerr == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (s *Store) checkSchema(readOnly bool) error {
	var version []byte
	empty := true
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		item, err := txn.Get(schemaKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		version, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("database %s: %w: %v", s.dir, ErrCorrupt, err)
	}
	switch {
	case version == nil && empty:
		if readOnly {
			return nil
		}
		return s.db.Update(func(txn *badger.Txn) error { return txn.Set(schemaKey, []byte(SchemaVersion)) })
	case version == nil:
		return fmt.Errorf("database %s: %w (a Badger database without hflineage's schema key)", s.dir, ErrNotDB)
	case string(version) != SchemaVersion:
		return fmt.Errorf("database %s: %w %q (this hflineage reads version %s)", s.dir, ErrSchema, version, SchemaVersion)
	}
	return nil
}

// Close flushes and closes the database. The store's own long work (see
// lifetime) stops first.
func (s *Store) Close() error {
	s.lifetime()
	s.life.cancel()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", s.dir, err)
	}
	return nil
}

// CollectGarbage runs Badger's value log GC until it finds nothing to
// reclaim. When ctx ends it stops, once the file being collected is done,
// and returns ctx's error.
func (s *Store) CollectGarbage(ctx context.Context) error {
	for ctx.Err() == nil && s.db.RunValueLogGC(0.5) == nil {
	}
	return ctx.Err()
}

func modelKey(id graph.ModelID) []byte { return cat(pModel, string(id)) }
func aliasKey(id string) []byte        { return cat(pAlias, strings.ToLower(id)) }

func cat(prefix []byte, parts ...string) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// EdgeKey encodes the forward key of e.
func EdgeKey(e graph.Edge) []byte {
	return cat(pEdge, string(e.Parent), string(e.Child), string(e.Relation))
}

// parentKey encodes the reverse key of e.
func parentKey(e graph.Edge) []byte {
	return cat(pParent, string(e.Child), string(e.Parent), string(e.Relation))
}

// DecodeEdgeKey decodes a forward edge key made by EdgeKey.
func DecodeEdgeKey(k []byte) (graph.Edge, error) {
	a, b, c, err := split3(k, pEdge)
	if err != nil {
		return graph.Edge{}, err
	}
	return graph.Edge{Parent: graph.ModelID(a), Child: graph.ModelID(b), Relation: graph.Relation(c)}, nil
}

func decodeParentKey(k []byte) (graph.Edge, error) {
	a, b, c, err := split3(k, pParent)
	if err != nil {
		return graph.Edge{}, err
	}
	return graph.Edge{Child: graph.ModelID(a), Parent: graph.ModelID(b), Relation: graph.Relation(c)}, nil
}

func split3(k, prefix []byte) (string, string, string, error) {
	rest, ok := bytes.CutPrefix(k, prefix)
	if !ok {
		return "", "", "", fmt.Errorf("%w: edge key %q has the wrong prefix", ErrCorrupt, k)
	}
	parts := bytes.Split(rest, []byte{0})
	if len(parts) != 3 || len(parts[0]) == 0 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", "", fmt.Errorf("%w: malformed edge key %q", ErrCorrupt, k)
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// Tx is a read-write transaction: everything written through one Tx is
// committed atomically, or not at all.
type Tx struct {
	txn          *badger.Txn
	run          *Run       // nil outside a run
	bulk         *bulkIndex // in a bulk run: reads of keys it never wrote are skipped
	edgesChanged bool       // bump the edge version at commit
	dataChanged  bool       // bump the data version at commit
	dataVersion  uint64     // the data version the commit makes (when dataChanged)
	collect      bool       // keep changes for the store's commit hook
	changes      []graph.Change
	runDropped   bool // DiscardRun deleted the run's record: not saved at commit
}

// note keeps a change for the commit hook.
func (tx *Tx) note(c graph.Change) {
	if tx.collect {
		tx.changes = append(tx.changes, c)
	}
}

// Update runs fn in a read-write transaction and commits it. A Badger
// conflict with a concurrent transaction is retried.
func (s *Store) Update(fn func(tx *Tx) error) error {
	defer s.dropBulkIndex() // see UpdateRun
	s.write.Lock()
	defer s.write.Unlock()
	for attempt := 0; ; attempt++ {
		var tx *Tx
		err := s.db.Update(func(txn *badger.Txn) error {
			tx = &Tx{txn: txn, collect: s.onCommit != nil}
			if err := fn(tx); err != nil {
				return err
			}
			return tx.bumpVersions()
		})
		releaseWhileWriting() // after the commit, outside the transaction
		if errors.Is(err, badger.ErrConflict) && attempt < 10 {
			continue
		}
		if err == nil {
			s.committed(tx)
		}
		return err
	}
}

// record is a model as stored: the model, the parents it declared when last
// stored, and the run that last saw it on the Hub.
type record struct {
	graph.Model
	Parents []graph.Parent `json:"parents,omitempty"`
	Run     uint64         `json:"run,omitempty"`
}

func (tx *Tx) getRecord(id graph.ModelID) (rec record, found bool, err error) {
	key := modelKey(id)
	if tx.bulk != nil && !tx.bulk.mayHave(key) {
		return rec, false, nil
	}
	item, err := tx.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	err = item.Value(func(v []byte) error { return decodeRecord(v, &rec, false) })
	if err != nil {
		return rec, false, fmt.Errorf("%w: model record %s: %v", ErrCorrupt, id, err)
	}
	return rec, true, nil
}

// PutModel stores m with the complete set of parents it declares,
// replacing any earlier record of the same id, and makes it findable by its
// lower-cased id. Edges from parents it no longer declares are removed, new
// ones added (both directions), and parents not yet known become stubs.
// Within a run (see Store.UpdateRun) the record is marked as seen by it and
// every change is counted and logged. Its free text is stored as
// graph.CleanModel leaves it: without invisible or bidi control
// characters, bounded in length.
func (tx *Tx) PutModel(m graph.Model, parents []graph.Parent) error {
	m = graph.CleanModel(m)
	old, found, err := tx.getRecord(m.ID)
	if err != nil {
		return err
	}
	tx.dataChanged = true
	rec := record{Model: m, Parents: parents}
	if tx.run != nil {
		rec.Run = tx.run.ID
	}
	if err := tx.set(modelKey(m.ID), encodeRecord(&rec)); err != nil {
		return err
	}
	if tx.collect { // a rescan rewrites most records unchanged: only changes are told
		if info := graph.NodeInfoOf(&m); !found || info != graph.NodeInfoOf(&old.Model) {
			tx.note(graph.Change{Op: graph.PutNode, ID: m.ID, Info: info})
		}
	}
	if !found || old.Stub {
		if err := tx.logModel(diffModelAdded, m.ID); err != nil {
			return err
		}
	}
	if !found {
		if err := tx.setAliasIfAbsent(string(m.ID), m.ID); err != nil {
			return err
		}
	}
	var keep map[graph.Parent]bool // parents stored already
	if len(old.Parents) > 0 {
		keep = make(map[graph.Parent]bool, len(old.Parents))
		for _, p := range old.Parents {
			keep[p] = true
		}
	}
	for _, p := range parents {
		if keep[p] {
			delete(keep, p) // stored already
			continue
		}
		if p.ID != m.ID {
			if err := tx.PutStub(p.ID); err != nil {
				return err
			}
		}
		if err := tx.putEdge(graph.Edge{Parent: p.ID, Child: m.ID, Relation: p.Relation}); err != nil {
			return err
		}
	}
	for p := range keep { // declared before, not any more
		if err := tx.deleteEdge(graph.Edge{Parent: p.ID, Child: m.ID, Relation: p.Relation}); err != nil {
			return err
		}
	}
	return nil
}

// PutStub stores id as a stub node (named as a parent, never seen itself)
// unless a record of it exists.
func (tx *Tx) PutStub(id graph.ModelID) error {
	key := modelKey(id)
	if tx.bulk != nil {
		if tx.bulk.present[id] {
			return nil
		}
		tx.bulk.present[id] = true // stored already, or below
	}
	if tx.bulk == nil || tx.bulk.mayHave(key) {
		_, err := tx.txn.Get(key)
		if err == nil {
			return nil
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
	}
	tx.dataChanged = true
	if err := tx.set(key, encodeRecord(&record{Model: graph.Model{ID: id, Stub: true}})); err != nil {
		return err
	}
	tx.note(graph.Change{Op: graph.PutNode, ID: id, Info: graph.NodeInfo{Stub: true}})
	return tx.setAliasIfAbsent(string(id), id)
}

// set writes a key, noting model and alias keys in a bulk run's index.
func (tx *Tx) set(key, value []byte) error {
	if tx.bulk != nil {
		tx.bulk.wrote(key)
	}
	return tx.txn.Set(key, value)
}

func (tx *Tx) deleteEdge(e graph.Edge) error {
	tx.edgesChanged, tx.dataChanged = true, true
	if err := tx.txn.Delete(EdgeKey(e)); err != nil {
		return err
	}
	if err := tx.txn.Delete(parentKey(e)); err != nil {
		return err
	}
	tx.note(graph.Change{Op: graph.RemoveEdge, Edge: e})
	return tx.logEdge(diffEdgeRemoved, e)
}

func (tx *Tx) putEdge(e graph.Edge) error {
	tx.edgesChanged, tx.dataChanged = true, true
	if err := tx.txn.Set(EdgeKey(e), nil); err != nil {
		return err
	}
	if err := tx.txn.Set(parentKey(e), nil); err != nil {
		return err
	}
	tx.note(graph.Change{Op: graph.AddEdge, Edge: e})
	return tx.logEdge(diffEdgeAdded, e)
}

// PutAlias makes name (in any letter case) resolve to the canonical id.
func (tx *Tx) PutAlias(name string, canonical graph.ModelID) error {
	return tx.set(aliasKey(name), []byte(canonical))
}

func (tx *Tx) setAliasIfAbsent(name string, canonical graph.ModelID) error {
	if strings.ToLower(name) == name {
		return nil // Resolve finds an all-lower-case id by its model key
	}
	if tx.bulk != nil && !tx.bulk.mayHave(aliasKey(name)) {
		return tx.PutAlias(name, canonical)
	}
	_, err := tx.txn.Get(aliasKey(name))
	if err == nil {
		return nil
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	return tx.PutAlias(name, canonical)
}

// Resolve returns the canonical id under which name is stored: name itself
// when a model of exactly that id exists, else the id a rename or a
// different letter case leads to. ErrNotFound when none.
func (s *Store) Resolve(name string) (graph.ModelID, error) {
	var id graph.ModelID
	err := s.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(modelKey(graph.ModelID(name))); err == nil {
			id = graph.ModelID(name)
			return nil
		}
		item, err := txn.Get(aliasKey(name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			if lower := strings.ToLower(name); lower != name {
				if _, err := txn.Get(modelKey(graph.ModelID(lower))); err == nil {
					id = graph.ModelID(lower)
					return nil
				}
			}
			return fmt.Errorf("model %s: %w in the database", name, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { id = graph.ModelID(v); return nil })
	})
	return id, err
}

// Lookup resolves name as Resolve does and reads the model's record (a
// stub for a parent never listed). It fails with ErrNotFound.
func (s *Store) Lookup(name string) (graph.Model, error) {
	id, err := s.Resolve(name)
	if err != nil {
		return graph.Model{}, err
	}
	var m graph.Model
	err = s.View(s.lifetime(), func(r *Reader) error {
		m, err = r.Model(id)
		return err
	})
	return m, err
}

// checkEvery is how many keys a scan reads between looks at its context.
const checkEvery = 1024

// View runs fn with a consistent read-only view of the database. The
// Reader's scans stop with ctx's error when ctx ends.
func (s *Store) View(ctx context.Context, fn func(r *Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(txn *badger.Txn) error {
		r := &Reader{ctx: ctx, txn: txn}
		defer r.close()
		return fn(r)
	})
}

// Reader reads one consistent snapshot. It implements graph.EdgeSource and
// graph.ParentSource. It must not be used after the View that made it
// returns. Its scans return the View's context error once it ends.
type Reader struct {
	ctx   context.Context
	txn   *badger.Txn
	it    *badger.Iterator
	steps int // keys read, to look at ctx every checkEvery
}

// step counts one key read and returns the context's error every
// checkEvery keys.
func (r *Reader) step() error {
	r.steps++
	if r.steps%checkEvery != 0 {
		return nil
	}
	return r.ctx.Err()
}

func (r *Reader) keys() *badger.Iterator {
	if r.it == nil {
		r.it = r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
	}
	return r.it
}

func (r *Reader) close() {
	if r.it != nil {
		r.it.Close()
	}
}

// Model returns the record of id, or an error wrapping ErrNotFound.
func (r *Reader) Model(id graph.ModelID) (graph.Model, error) {
	var m graph.Model
	item, err := r.txn.Get(modelKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return m, fmt.Errorf("model %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	var rec record
	err = item.Value(func(v []byte) error { return decodeRecord(v, &rec, false) })
	if err != nil {
		return m, fmt.Errorf("%w: model record %s: %v", ErrCorrupt, id, err)
	}
	return rec.Model, nil
}

// ChildEdges calls fn for each edge out of id, sorted by child then relation.
func (r *Reader) ChildEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	return r.scan(cat(pEdge, string(id), ""), DecodeEdgeKey, fn)
}

// ParentEdges calls fn for each edge into id, sorted by parent then relation.
func (r *Reader) ParentEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	return r.scan(cat(pParent, string(id), ""), decodeParentKey, fn)
}

func (r *Reader) scan(prefix []byte, decode func([]byte) (graph.Edge, error), fn func(graph.Edge) error) error {
	if err := r.step(); err != nil {
		return err
	}
	it := r.keys()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := r.step(); err != nil {
			return err
		}
		e, err := decode(it.Item().Key())
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Models calls fn for every model record in id order.
func (r *Reader) Models(fn func(graph.Model) error) error {
	it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: pModel})
	defer it.Close()
	for it.Seek(pModel); it.ValidForPrefix(pModel); it.Next() {
		if err := r.step(); err != nil {
			return err
		}
		var rec record
		if err := it.Item().Value(func(v []byte) error { return decodeRecord(v, &rec, false) }); err != nil {
			return fmt.Errorf("%w: model record %q: %v", ErrCorrupt, it.Item().Key(), err)
		}
		if err := fn(rec.Model); err != nil {
			return err
		}
	}
	return nil
}

// Edges calls fn for every edge in (parent, child, relation) order.
func (r *Reader) Edges(fn func(graph.Edge) error) error {
	it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pEdge})
	defer it.Close()
	for it.Seek(pEdge); it.ValidForPrefix(pEdge); it.Next() {
		if err := r.step(); err != nil {
			return err
		}
		e, err := DecodeEdgeKey(it.Item().Key())
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

type badgerLogger struct{ verbose bool }

func (l badgerLogger) logf(level, f string, v ...any) {
	if l.verbose {
		fmt.Fprintf(os.Stderr, "badger "+level+": "+f, v...)
	}
}
func (l badgerLogger) Errorf(f string, v ...any)   { l.logf("ERROR", f, v...) }
func (l badgerLogger) Warningf(f string, v ...any) { l.logf("WARNING", f, v...) }
func (l badgerLogger) Infof(f string, v ...any)    { l.logf("INFO", f, v...) }
func (l badgerLogger) Debugf(f string, v ...any)   {}

// LoadGraph reads the whole stored graph into memory. With models, node
// attributes are decoded too (slower); without, only ids and edges. When
// ctx ends it stops and returns ctx's error.
func (s *Store) LoadGraph(ctx context.Context, models bool) (*graph.Graph, error) {
	hint := 1 << 16
	if last, ok, _ := s.LastScan(); ok && last.Models > hint {
		hint = last.Models + last.Models/8 // a scan counted them: no regrowing
	}
	var g *graph.Graph
	err := s.View(ctx, func(r *Reader) error {
		b := graph.NewGraphBuilder(hint)
		it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: models, PrefetchSize: 256, Prefix: pModel})
		for it.Seek(pModel); it.ValidForPrefix(pModel); it.Next() {
			if err := r.step(); err != nil {
				it.Close()
				return err
			}
			if !models {
				b.Node(graph.ModelID(it.Item().Key()[len(pModel):]), nil)
				continue
			}
			var rec record
			if err := it.Item().Value(func(v []byte) error { return decodeRecord(v, &rec, true) }); err != nil {
				it.Close()
				return fmt.Errorf("%w: model record %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			b.Node(rec.ID, &rec.Model)
		}
		it.Close()
		if err := r.Edges(func(e graph.Edge) error { return b.Edge(e) }); err != nil {
			return err
		}
		g = b.Graph()
		return nil
	})
	return g, err
}

// EdgeGraph reads every edge (keys only, one sequential scan) into an
// in-memory graph whose nodes are the edges' endpoints. Counting a large
// family this way beats one seek per member. When ctx ends it stops and
// returns ctx's error.
func (s *Store) EdgeGraph(ctx context.Context) (*graph.Graph, error) {
	var g *graph.Graph
	err := s.View(ctx, func(r *Reader) error {
		b := graph.NewGraphBuilder(1 << 16)
		it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pEdge})
		defer it.Close()
		for it.Seek(pEdge); it.ValidForPrefix(pEdge); it.Next() {
			if err := r.step(); err != nil {
				return err
			}
			k := it.Item().Key()[len(pEdge):]
			i := bytes.IndexByte(k, 0)
			j := i + 1 + bytes.IndexByte(k[i+1:], 0)
			if i <= 0 || j <= i+1 || j >= len(k)-1 {
				return fmt.Errorf("%w: malformed edge key %q", ErrCorrupt, it.Item().Key())
			}
			b.EdgeBytes(k[:i], k[i+1:j], k[j+1:])
		}
		g = b.Graph()
		return nil
	})
	return g, err
}

// ModelsOf calls fn with the record of each id (a stub for ids not stored),
// in id order. One iterator walks forward through the sorted ids, so each
// block is read once: far cheaper than a Get per id for large families.
func (r *Reader) ModelsOf(ids []graph.ModelID, fn func(graph.Model) error) error {
	sorted := slices.IsSortedFunc(ids, func(a, b graph.ModelID) int { return strings.Compare(string(a), string(b)) })
	if !sorted {
		ids = slices.Clone(ids)
		slices.Sort(ids)
	}
	it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pModel})
	defer it.Close()
	it.Rewind()
	for _, id := range ids {
		key := modelKey(id)
		// Step forward while the target is near (a step costs far less
		// than a seek); seek when it is not.
		for steps := 0; it.Valid() && bytes.Compare(it.Item().Key(), key) < 0; steps++ {
			if steps == 32 {
				it.Seek(key)
				break
			}
			it.Next()
		}
		if err := r.step(); err != nil {
			return err
		}
		m := graph.Model{ID: id, Stub: true}
		if it.Valid() && bytes.Equal(it.Item().Key(), key) {
			var rec record
			if err := it.Item().Value(func(v []byte) error { return decodeRecord(v, &rec, false) }); err != nil {
				return fmt.Errorf("%w: model record %s: %v", ErrCorrupt, id, err)
			}
			m = rec.Model
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}
