package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// TestLegacyIDsOnTheCommandLine: ids the Hub listed under older naming
// rules (old--org/legacy..name) are stored by crawls; every read command
// takes them as a MODEL or --root, while a name that breaks today's rules
// and is not in the database keeps the strict rule's usage error.
func TestLegacyIDsOnTheCommandLine(t *testing.T) {
	const legacy = "old--org/legacy..name"
	db := filepath.Join(t.TempDir(), "db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.PutModel(graph.Model{ID: legacy, Downloads: 5}, nil); err != nil {
			return err
		}
		return tx.PutModel(graph.Model{ID: "kid/of-legacy"}, []graph.Parent{{ID: legacy, Relation: graph.Finetune}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args     []string
		code     int
		contains string // in stdout, or in stderr when code != 0
	}{
		{[]string{"count", legacy}, 0, "total"},
		{[]string{"count", "OLD--ORG/Legacy..Name", "--json"}, 0, `"model":"` + legacy + `"`},
		{[]string{"ancestors", "kid/of-legacy"}, 0, legacy},
		{[]string{"ancestors", legacy}, 0, ""},
		{[]string{"export", "--format", "csv", "--root", legacy}, 0, "kid/of-legacy"},
		{[]string{"history", legacy}, 0, ""},
		{[]string{"licenses", legacy}, 0, ""},
		{[]string{"count", "--json", "https://huggingface.co/" + legacy + "/tree/main"}, 0, `"model":"` + legacy + `"`},
		{[]string{"export", "--format", "csv", "--root", "hf.co/" + legacy}, 0, "kid/of-legacy"},
		{[]string{"count", "old--org/absent..name"}, 2, "invalid model id"},
		{[]string{"export", "--format", "csv", "--root", "old--org/absent..name"}, 2, "invalid model id"},
		{[]string{"count", "a/b/c"}, 2, "invalid model id"},
		{[]string{"count", "org/absent"}, 1, "not in the database"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{tc.args[0], "--db", db}, tc.args[1:]...)
			code, stdout, stderr := cli(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			got := stdout
			if code != 0 {
				got = stderr
			}
			if !strings.Contains(got, tc.contains) {
				t.Errorf("output %q lacks %q", got, tc.contains)
			}
		})
	}
}
