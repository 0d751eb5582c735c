package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/store"
)

// TestServeUnreadableUnfinishedCrawl: when the unfinished crawl's record
// cannot be read, serve says so and stops, rather than serving on without
// the resume it owes (it skipped the resume silently before 0b927fe).
func TestServeUnreadableUnfinishedCrawl(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	bdb, err := badger.Open(badger.DefaultOptions(db).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte("c\x00job"), []byte("{not json")) })
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, stderr, result := background(ctx, "serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", "http://127.0.0.1:1")
	select {
	case code := <-result:
		if code == 0 || !strings.Contains(stderr.String(), "the unfinished crawl") {
			t.Errorf("exit %d, stderr:\n%s\nwant an error naming the unfinished crawl", code, stderr)
		}
	case <-time.After(30 * time.Second):
		cancel()
		<-result
		t.Errorf("serve went on with an unreadable unfinished crawl; stderr:\n%s", stderr)
	}
}
