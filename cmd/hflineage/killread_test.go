package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestReadAfterSIGKILL kills a real crawl process in the middle of a walk
// (pages commit while the next are fetched), leaving Badger's write-ahead
// log as a killed writer leaves it, and then runs read commands only, three
// at once, as a user would: each must answer from what was committed (the
// crawl marked incomplete), not call the database damaged.
func TestReadAfterSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	world, root := crashWorld(t)
	hub := hubtest.NewUnstartedServer(world)
	hub.MaxPageSize = 7
	k := &killer{bin: bin}
	hub.Fault = k.fault
	hub.Start()
	defer hub.Close()

	// Both worlds' walks take well over 40 requests at 7 models a page;
	// pages have been committed by the 40th.
	db := filepath.Join(t.TempDir(), "db")
	if !k.run(t, 40, "crawl", "--db", db, "--endpoint", hub.URL, root) {
		t.Fatal("the crawl was not killed")
	}

	type answer struct {
		out, stderr []byte
		err         error
	}
	answers := make([]answer, 3)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			cmd := exec.Command(bin, "count", "--json", "--db", db, root)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			answers[i] = answer{out, stderr.Bytes(), err}
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a.err != nil {
			t.Errorf("count %d after the kill: %v\n%s", i+1, a.err, a.stderr)
			continue
		}
		var got struct {
			Model       string
			Descendants struct{ Total int }
			Complete    bool
		}
		if err := json.Unmarshal(a.out, &got); err != nil {
			t.Fatalf("count %d: %v: %s", i+1, err, a.out)
		}
		if got.Model != root || got.Descendants.Total == 0 || got.Complete {
			t.Errorf("count %d after the kill: %s, want %s's descendants so far, not complete", i+1, a.out, root)
		}
	}
}

// TestReadAfterSIGKILLOfServe kills a real `serve` in the middle of the
// crawl it runs at start, leaving its address file and Badger's log as a
// kill leaves them, and then counts from the CLI: the count finds the
// server gone, reads the database itself and answers.
func TestReadAfterSIGKILLOfServe(t *testing.T) {
	bin := buildBinary(t)
	hub := hubtest.NewUnstartedServer(serveWorld())
	hub.MaxPageSize = 4 // about 20 requests for the family
	k := &killer{bin: bin}
	hub.Fault = k.fault
	hub.Start()
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if !k.run(t, 8, "serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", hub.URL, "--every", "1h", "meta-llama/Llama-3.1-8B") {
		t.Fatal("serve was not killed")
	}
	if _, err := os.Stat(filepath.Join(db, serveAddrFile)); err != nil {
		t.Logf("serve left no address file: %v", err)
	}
	cmd := exec.Command(bin, "count", "--json", "--db", db, "meta-llama/Llama-3.1-8B")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("count after serve was killed: %v\n%s", err, stderr.String())
	}
	var got struct {
		Descendants struct{ Total int }
		Complete    bool
	}
	if err := json.Unmarshal(out, &got); err != nil || got.Descendants.Total == 0 || got.Complete {
		t.Errorf("count after serve was killed: %v: %s, want the descendants so far, not complete", err, out)
	}
}
