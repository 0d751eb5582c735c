package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// mappedRSS is how many kB of the files under dir are resident in this
// process, by /proc/self/smaps (read by hand: the test knows the path).
func mappedRSS(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	kB, inDir := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if first, _, _ := strings.Cut(line, " "); strings.Contains(first, "-") && !strings.HasSuffix(first, ":") {
			inDir = strings.Contains(line, dir+"/")
			continue
		}
		if rss, ok := strings.CutPrefix(line, "Rss:"); ok && inDir {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rss), " kB"))
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			kB += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kB
}

// TestReleaseTablePagesPathWithSpaces: the pages a read-only store has
// mapped of its files are handed back also when the database's path holds
// spaces or a tab, which /proc/self/maps prints as they are.
func TestReleaseTablePagesPathWithSpaces(t *testing.T) {
	for _, name := range []string{"plain", "my db", "two  spaces\tand a tab "} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			s, err := Open(dir, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			var ms []graph.Model
			for i := range 2000 {
				ms = append(ms, graph.Model{ID: graph.ModelID(fmt.Sprintf("org/m-%d", i)), Author: "org", Downloads: int64(i)})
			}
			put(t, s, ms, nil)
			if err := s.Close(); err != nil { // the memtable goes to a table file, which Badger maps
				t.Fatal(err)
			}
			ro, err := Open(dir, Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			read := func() {
				n := 0
				if err := ro.View(context.Background(), func(r *Reader) error {
					return r.Models(func(graph.Model) error { n++; return nil })
				}); err != nil || n != len(ms) {
					t.Fatalf("%d models, %v", n, err)
				}
			}
			read()
			before := mappedRSS(t, dir)
			if before == 0 {
				t.Fatal("nothing of the database is mapped after reading it all")
			}
			ro.ReleaseTablePages()
			if after := mappedRSS(t, dir); after != 0 {
				t.Errorf("%d kB of the database resident after the release (%d before)", after, before)
			}
			read() // nothing lost
		})
	}
}
