package query_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// licensed is a hand-worked family, each edge's licence change written out
// (the classes are graph.LicenseClasses'):
//
//	meta-llama/Llama-3.1-8B   llama3.1      (the root, community)
//	 1 → a/chat               llama3.1      kept (same licence)
//	 2   a/chat → a/chat-gguf Apache-2.0    relaxed (community → permissive; the case is not the licence)
//	 3     a/chat-gguf → f/nc cc-by-nc-4.0  tightened (permissive → non-commercial)
//	15     a/chat-gguf → e/mit mit          kept (permissive → permissive)
//	 4   a/chat → m/merge     mit           relaxed (community → permissive)
//	 5   b/lora → m/merge                   relaxed (llama3 → mit); x/outside → m/merge is outside the family
//	 7 → b/lora               llama3        kept (community → community)
//	 8 → c/none               (none)        unknown (missing)
//	 9   c/none → c/child     apache-2.0    unknown (from a missing licence)
//	10 → d/other              other         unknown ("other")
//	11   d/other → d/other2   other         unknown ("other" twice says nothing)
//	12 → g/rail               openrail      relaxed (community → responsible-ai)
//	13 → h/gpl                gpl-3.0       relaxed (community → copyleft)
//	14   h/gpl → h/mit        mit           relaxed (copyleft → permissive)
//
// 14 edges: kept 3, relaxed 6, tightened 1, unknown 4.
func licensed(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	run, err := st.NewRun("walk", false, []string{"meta-llama/Llama-3.1-8B"})
	if err != nil {
		t.Fatal(err)
	}
	p := func(id, rel string) graph.Parent {
		return graph.Parent{ID: graph.ModelID(id), Relation: graph.Relation(rel)}
	}
	put := func(id, license string, downloads int64, parents ...graph.Parent) {
		t.Helper()
		m := graph.Model{ID: graph.ModelID(id), Author: strings.Split(id, "/")[0], Downloads: downloads, License: license}
		if err := st.UpdateRun(run, func(tx *store.Tx) error { return tx.PutModel(m, parents) }); err != nil {
			t.Fatal(err)
		}
	}
	root := "meta-llama/Llama-3.1-8B"
	put(root, "llama3.1", 1000)
	put("a/chat", "llama3.1", 500, p(root, "finetune"))
	put("a/chat-gguf", "Apache-2.0", 300, p("a/chat", "quantized"))
	put("f/nc", "cc-by-nc-4.0", 5, p("a/chat-gguf", "finetune"))
	put("e/mit", "mit", 15, p("a/chat-gguf", "finetune"))
	put("x/outside", "gpl-3.0", 1)
	put("b/lora", "llama3", 40, p(root, "adapter"))
	put("m/merge", "mit", 80, p("a/chat", "merge"), p("b/lora", "merge"), p("x/outside", "merge"))
	put("c/none", "", 20, p(root, "finetune"))
	put("c/child", "apache-2.0", 900, p("c/none", "finetune"))
	put("d/other", "other", 10, p(root, "finetune"))
	put("d/other2", "other", 1, p("d/other", "finetune"))
	put("g/rail", "openrail", 60, p(root, "finetune"))
	put("h/gpl", "gpl-3.0", 70, p(root, "finetune"))
	put("h/mit", "mit", 700, p("h/gpl", "finetune"))
	err = st.UpdateRun(run, func(tx *store.Tx) error {
		tx.Run().Complete, tx.Run().Finished = true, time.Now().UTC()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func lm(id, license string, class graph.LicenseClass) query.LicensedModel {
	return query.LicensedModel{Model: graph.ModelID(id), License: license, Class: class}
}

func TestLicensesHandWorked(t *testing.T) {
	ctx := context.Background()
	st := licensed(t)
	live, err := query.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	engines := map[string]*query.Engine{"one-shot": query.New(st), "live": live}
	const root = "meta-llama/Llama-3.1-8B"
	llama := lm(root, "llama3.1", graph.Community)
	for name, q := range engines {
		t.Run(name, func(t *testing.T) {
			got, err := q.Licenses(ctx, query.LicenseOptions{Model: root, Top: 3, Edges: true})
			if err != nil {
				t.Fatal(err)
			}
			if got.Model != root || got.Matched != 1 || got.Members != 13 || got.Edges != 14 || !got.Complete {
				t.Errorf("model %s matched %d members %d edges %d complete %v, want %s 1 13 14 true", got.Model, got.Matched, got.Members, got.Edges, got.Complete, root)
			}
			if want := (query.LicenseChanges{Kept: 3, Relaxed: 6, Tightened: 1, Unknown: 4}); got.Changes != want {
				t.Errorf("changes %+v, want %+v", got.Changes, want)
			}
			row := func(l string, c graph.LicenseClass, edges int, ch query.LicenseChanges, to ...query.ChildLicense) query.ParentLicense {
				return query.ParentLicense{License: l, Class: c, Edges: edges, LicenseChanges: ch, To: to}
			}
			cell := func(l string, c graph.LicenseClass, ch graph.LicenseChange) query.ChildLicense {
				return query.ChildLicense{License: l, Class: c, Change: ch, Edges: 1}
			}
			wantRows := []query.ParentLicense{
				row("llama3.1", graph.Community, 8, query.LicenseChanges{Kept: 2, Relaxed: 4, Unknown: 2},
					cell("", graph.UnknownClass, graph.UnknownChange), cell("apache-2.0", graph.Permissive, graph.Relaxed),
					cell("gpl-3.0", graph.Copyleft, graph.Relaxed), cell("llama3", graph.Community, graph.Kept),
					cell("llama3.1", graph.Community, graph.Kept), cell("mit", graph.Permissive, graph.Relaxed),
					cell("openrail", graph.ResponsibleAI, graph.Relaxed), cell("other", graph.UnknownClass, graph.UnknownChange)),
				row("apache-2.0", graph.Permissive, 2, query.LicenseChanges{Kept: 1, Tightened: 1},
					cell("cc-by-nc-4.0", graph.NonCommercial, graph.Tightened), cell("mit", graph.Permissive, graph.Kept)),
				row("", graph.UnknownClass, 1, query.LicenseChanges{Unknown: 1}, cell("apache-2.0", graph.Permissive, graph.UnknownChange)),
				row("gpl-3.0", graph.Copyleft, 1, query.LicenseChanges{Relaxed: 1}, cell("mit", graph.Permissive, graph.Relaxed)),
				row("llama3", graph.Community, 1, query.LicenseChanges{Relaxed: 1}, cell("mit", graph.Permissive, graph.Relaxed)),
				row("other", graph.UnknownClass, 1, query.LicenseChanges{Unknown: 1}, cell("other", graph.UnknownClass, graph.UnknownChange)),
			}
			if !reflect.DeepEqual(got.ByParent, wantRows) {
				t.Errorf("by parent:\n got %+v\nwant %+v", got.ByParent, wantRows)
			}
			gguf, mit := lm("a/chat-gguf", "apache-2.0", graph.Permissive), lm("h/mit", "mit", graph.Permissive)
			chat, gpl := lm("a/chat", "llama3.1", graph.Community), lm("h/gpl", "gpl-3.0", graph.Copyleft)
			merge := lm("m/merge", "mit", graph.Permissive)
			wantOff := []query.Offender{ // the 3 most downloaded of h/mit 700, a/chat-gguf 300, m/merge 80, h/gpl 70, g/rail 60
				{LicensedModel: mit, Downloads: 700, Parents: []query.LicensedModel{gpl}, Path: []query.LicensedModel{llama, gpl, mit}},
				{LicensedModel: gguf, Downloads: 300, Parents: []query.LicensedModel{chat}, Path: []query.LicensedModel{llama, chat, gguf}},
				{LicensedModel: merge, Downloads: 80, Parents: []query.LicensedModel{chat, lm("b/lora", "llama3", graph.Community)},
					Path: []query.LicensedModel{llama, chat, merge}},
			}
			if !reflect.DeepEqual(got.Offenders, wantOff) {
				t.Errorf("offenders:\n got %+v\nwant %+v", got.Offenders, wantOff)
			}
			var edges []string
			for _, e := range got.ChangedEdges {
				edges = append(edges, string(e.Parent)+">"+string(e.Child)+":"+string(e.Change))
			}
			wantEdges := []string{"c/none>c/child:unknown", "h/gpl>h/mit:relaxed", "a/chat>a/chat-gguf:relaxed",
				"a/chat>m/merge:relaxed", "b/lora>m/merge:relaxed", root + ">h/gpl:relaxed", root + ">g/rail:relaxed",
				root + ">b/lora:kept", root + ">c/none:unknown", "a/chat-gguf>e/mit:kept", root + ">d/other:unknown",
				"a/chat-gguf>f/nc:tightened"}
			if !reflect.DeepEqual(edges, wantEdges) {
				t.Errorf("changed edges:\n got %q\nwant %q", edges, wantEdges)
			}
			if got.Ancestry == nil || len(got.Ancestry.Ancestors) != 0 || got.Ancestry.LicensedModel != llama {
				t.Errorf("the root's ancestry: %+v", got.Ancestry)
			}

			// A derivative's own family and ancestry.
			got, err = q.Licenses(ctx, query.LicenseOptions{Model: "a/chat-gguf"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Members != 2 || got.Changes != (query.LicenseChanges{Kept: 1, Tightened: 1}) || len(got.Offenders) != 0 || got.ChangedEdges != nil {
				t.Errorf("a/chat-gguf: members %d changes %+v offenders %v edges %v", got.Members, got.Changes, got.Offenders, got.ChangedEdges)
			}
			wantAnc := &query.LicenseAncestry{LicensedModel: gguf,
				Ancestors: []query.LicenseAncestor{{LicensedModel: chat, Distance: 1}, {LicensedModel: llama, Distance: 2}},
				Edges: []query.LicenseEdge{
					{Parent: "a/chat", Child: "a/chat-gguf", Relation: graph.Quantized, From: "llama3.1", To: "apache-2.0", Change: graph.Relaxed},
					{Parent: root, Child: "a/chat", Relation: graph.Finetune, From: "llama3.1", To: "llama3.1", Change: graph.Kept},
				}}
			if !reflect.DeepEqual(got.Ancestry, wantAnc) {
				t.Errorf("ancestry:\n got %+v\nwant %+v", got.Ancestry, wantAnc)
			}

			// The ecosystem of the root's organisation is the same family.
			eco, err := q.Licenses(ctx, query.LicenseOptions{Model: "meta-llama/*"})
			if err != nil {
				t.Fatal(err)
			}
			if eco.Ecosystem != "meta-llama/*" || eco.Model != "" || eco.Ancestry != nil || eco.Changes != (query.LicenseChanges{Kept: 3, Relaxed: 6, Tightened: 1, Unknown: 4}) ||
				len(eco.Offenders) != 5 || !reflect.DeepEqual(eco.ByParent, wantRows) {
				t.Errorf("ecosystem: %+v", eco)
			}
		})
	}
}

func TestLicensesErrors(t *testing.T) {
	ctx := context.Background()
	q := query.New(licensed(t))
	for _, c := range []struct {
		o    query.LicenseOptions
		want error
	}{
		{query.LicenseOptions{Model: "nobody/none"}, query.ErrUnknownModel},
		{query.LicenseOptions{Model: "nobody/*"}, query.ErrNoMatch},
		{query.LicenseOptions{Model: "bad id"}, query.ErrInvalid},
		{query.LicenseOptions{}, query.ErrInvalid},
		{query.LicenseOptions{Model: "a/chat", Top: -1}, query.ErrInvalid},
		{query.LicenseOptions{Model: "a/chat", Top: query.MaxLicenseTop + 1}, query.ErrInvalid},
	} {
		if _, err := q.Licenses(ctx, c.o); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.o, err, c.want)
		}
	}
}
