package query

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// TestLargeFamilyDOTFromNodeTable checks that a DOT export of a family
// above nodeTableAbove, whose members' attributes come from graph.bin,
// writes the same bytes as one reading every member's record (graph.bin
// removed), with downloads, likes and clusters.
func TestLargeFamilyDOTFromNodeTable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := nodeTableAbove + 300
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.PutModel(graph.Model{ID: "base/root", Downloads: 7}, nil); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			m := graph.Model{ID: graph.ModelID(fmt.Sprintf("org-%d/m-%d", i%13, i)), Downloads: int64(i % 5), Likes: int64(i % 3), License: "mit"}
			parents := []graph.Parent{{ID: "base/root", Relation: graph.Finetune}}
			if i > 10 {
				parents = []graph.Parent{{ID: graph.ModelID(fmt.Sprintf("org-%d/m-%d", (i/10)%13, i/10)), Relation: graph.Adapter}}
			}
			if i%97 == 0 {
				parents = append(parents, graph.Parent{ID: graph.ModelID(fmt.Sprintf("gone/stub-%d", i)), Relation: graph.Merge})
			}
			if err := tx.PutModel(m, parents); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.RefreshCaches(ctx, true); err != nil {
		t.Fatal(err)
	}
	e := New(st)
	export := func(cluster string) []byte {
		var buf bytes.Buffer
		x, err := e.Write(ctx, Selection{Format: "dot", Root: "base/root", Depth: -1, Cluster: cluster}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if x.Nodes <= nodeTableAbove {
			t.Fatalf("%d nodes: not above nodeTableAbove", x.Nodes)
		}
		return buf.Bytes()
	}
	if tbl, release, err := st.NodeTable(ctx); err != nil || tbl == nil {
		t.Fatalf("graph.bin not current: %v", err)
	} else {
		release()
	}
	var fromTable [][]byte
	for _, c := range []string{"", "author", "relation"} {
		fromTable = append(fromTable, export(c))
	}
	if err := os.Remove(filepath.Join(dir, "graph.bin")); err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"", "author", "relation"} {
		if got := export(c); !bytes.Equal(fromTable[i], got) {
			t.Errorf("cluster %q: the node table's export differs from the records'", c)
		}
	}
	if !bytes.Contains(fromTable[0], []byte(`"org-4/m-4" [label="org-4/m-4", tooltip="org-4/m-4\ndownloads: 4\nlikes: 1"];`)) {
		t.Errorf("tooltips missing:\n%.2000s", fromTable[0])
	}
}
