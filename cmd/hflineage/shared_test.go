package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/store"
)

// TestReadersShareTheDatabase: read commands take Badger's shared lock, so
// two counts and an export run at once (beside a reader that holds the
// database open throughout), while a crawl is refused with a clear error.
func TestReadersShareTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatalf("crawl exit %d: %s", code, stderr)
	}
	held, err := store.Open(db, store.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	cmds := [][]string{
		{"count", "--db", db, "--json", "meta-llama/Llama-3.1-8B"},
		{"count", "--db", db, "meta-llama/Llama-3.1-8B"},
		{"export", "--db", db, "--format", "graphml", "-o", filepath.Join(t.TempDir(), "all.graphml")},
	}
	var wg sync.WaitGroup
	errs := make([]string, len(cmds))
	for i, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Sprintf("%s: %v: %s", strings.Join(args, " "), err, out)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	out, err := exec.Command(bin, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another hflineage process") {
		t.Errorf("crawl beside a reader: %v: %s; want a clear 'in use' error", err, out)
	}
}

// TestReadOnlyCopyAnswersEveryRead: a copy of a database with no write
// permission anywhere answers every read command, and its Badger files are
// left as they were.
func TestReadOnlyCopyAnswersEveryRead(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatalf("crawl exit %d: %s", code, stderr)
	}
	ro := filepath.Join(t.TempDir(), "ro")
	copyTree(t, db, ro)
	os.Remove(filepath.Join(ro, "edges.csr")) // a cache the readers must build in memory
	makeReadOnly(t, ro)
	t.Cleanup(func() {
		filepath.WalkDir(ro, func(p string, d fs.DirEntry, _ error) error { return os.Chmod(p, 0o755) })
	})
	before := badgerFiles(t, ro)

	out := t.TempDir()
	for _, args := range [][]string{
		{"count", "--json", "meta-llama/Llama-3.1-8B"},
		{"ancestors", "c/gguf"},
		{"stats", "--json"},
		{"stats", "--root", "meta-llama/Llama-3.1-8B"},
		{"history", "meta-llama/Llama-3.1-8B"},
		{"diff"},
		{"export", "--format", "dot", "--root", "meta-llama/Llama-3.1-8B", "-o", filepath.Join(out, "f.dot")},
		{"export", "--format", "csv", "-o", filepath.Join(out, "e.csv")},
	} {
		code, _, stderr := cli(t, append(args, "--db", ro)...)
		if code != 0 {
			t.Errorf("%s on a read-only copy: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	if after := badgerFiles(t, ro); !maps.Equal(before, after) {
		t.Errorf("read commands changed the database's files:\nbefore %v\nafter  %v", before, after)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error { paths = append(paths, p); return nil })
	for i := len(paths) - 1; i >= 0; i-- { // files before their directories
		mode := os.FileMode(0o444)
		if fi, err := os.Stat(paths[i]); err == nil && fi.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(paths[i], mode); err != nil {
			t.Fatal(err)
		}
	}
}

// badgerFiles hashes the database's own files (not the caches).
func badgerFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".csr") || strings.HasSuffix(e.Name(), ".bin") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))[:12]
	}
	return m
}
