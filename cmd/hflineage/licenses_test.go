package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/server"
)

// licenseWorld: a Llama family whose licences change on the way:
//
//	meta-llama/Llama-2-7b llama2
//	 → a/chat llama2 (kept) → a/gguf apache-2.0 (relaxed) → a/nc cc-by-nc-4.0 (tightened)
//	 → b/x (no licence: unknown)
func licenseWorld() *hubtest.World {
	w := hubtest.NewWorld()
	add := func(id, license string, dl int64, parents ...hubtest.Parent) {
		tags := hubtest.ParentTags(parents...)
		if license != "" {
			tags = append(tags, "license:"+license)
		}
		w.Add(hubtest.Model{ID: id, Downloads: dl, Tags: tags})
	}
	pt := func(id string) hubtest.Parent { return hubtest.Parent{ID: id, Relation: "finetune"} }
	add("meta-llama/Llama-2-7b", "llama2", 100)
	add("a/chat", "llama2", 50, pt("meta-llama/Llama-2-7b"))
	add("a/gguf", "apache-2.0", 40, pt("a/chat"))
	add("a/nc", "cc-by-nc-4.0", 3, pt("a/gguf"))
	add("b/x", "", 7, pt("meta-llama/Llama-2-7b"))
	return w
}

func TestLicensesCommand(t *testing.T) {
	hub := hubtest.NewServer(licenseWorld())
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "meta-llama/Llama-2-7b"); code != 0 {
		t.Fatalf("crawl: %d %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "licenses", "--db", db, "--edges", "meta-llama/Llama-2-7b")
	if code != 0 {
		t.Fatalf("licenses: %d %s", code, stderr)
	}
	for _, want := range []string{
		"License paths in the family of meta-llama/Llama-2-7b: 4 derivatives, 4 edges",
		"kept 1   relaxed 1   tightened 1   unknown 1",
		"meta-llama/Llama-2-7b [llama2] → a/chat [llama2] → a/gguf [apache-2.0]",
		"relaxed    a/chat → a/gguf",
		"tightened  a/gguf → a/nc",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	code, stdout, _ = cli(t, "licenses", "--db", db, "--json", "meta-llama/*")
	var lp query.LicensePaths
	if code != 0 || json.Unmarshal([]byte(stdout), &lp) != nil || lp.Ecosystem != "meta-llama/*" ||
		lp.Changes != (query.LicenseChanges{Kept: 1, Relaxed: 1, Tightened: 1, Unknown: 1}) || len(lp.Offenders) != 1 {
		t.Errorf("licenses --json of an ecosystem: %d %s", code, stdout)
	}
	for _, args := range [][]string{{"licenses", "--db", db}, {"licenses", "--db", db, "--top", "0", "a/chat"}, {"licenses", "--db", db, "a--b/c"}} {
		if code, _, _ := cli(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, stderr := cli(t, "licenses", "--db", db, "no/such"); code != exitFailure || !strings.Contains(stderr, "not in the database") {
		t.Errorf("an unknown model: %d %s", code, stderr)
	}

	// Through a server, the same answer.
	e, err := query.OpenDB(context.Background(), db, query.OpenOptions{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := server.New(t.Context(), server.Config{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close(context.Background()) }()
	r := &remote{base: ts.URL, client: http.DefaultClient}
	o := query.LicenseOptions{Model: "meta-llama/Llama-2-7b", Top: 5, Edges: true}
	direct, err := e.Licenses(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	viaServer, err := r.Licenses(t.Context(), o)
	if err != nil || !reflect.DeepEqual(direct, viaServer) {
		t.Errorf("through the server: %v\n%+v\nwant %+v", err, viaServer, direct)
	}
}
