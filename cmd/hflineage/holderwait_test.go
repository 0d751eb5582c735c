package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/store"
)

// TestReadWaitsForAClosingHolder: a read that finds the database held by
// a process that answers no reads — a crawl that has stopped and closes
// it, or one not answering yet — waits for it rather than refuse (a
// trial user's counts failed for seconds after each crawl ended); the
// holder lets go while the read waits, and the read answers.
func TestReadWaitsForAClosingHolder(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatal(stderr)
	}
	held, err := store.Open(db, store.Options{}) // this process holds it, as a closing crawl would
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	testHookHolderWait = func() {
		if waits++; waits == 1 {
			held.Close() // the holder lets go while the read waits
		}
	}
	defer func() { testHookHolderWait = nil }()
	code, stdout, stderr := cli(t, "count", "--db", db, "meta-llama/Llama-3.1-8B")
	if code != 0 || waits == 0 || !strings.Contains(stdout, "total") {
		t.Errorf("count beside a closing holder: exit %d after %d waits: %s%s", code, waits, stdout, stderr)
	}
}
