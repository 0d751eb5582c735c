package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/query"
)

// TestTreeRoute: GET /api/v1/tree answers tree --json's object (the
// family to depth, capped per model) and refuses bad parameters with a 400
// naming them, an unknown model with a 404.
func TestTreeRoute(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	code, body, _ := get(t, ts.URL+"/api/v1/tree?model="+root+"&depth=9&max=0")
	var tree query.Tree
	if code != 200 || json.Unmarshal([]byte(body), &tree) != nil || tree.Tree == nil || string(tree.Tree.ID) != root || len(tree.Tree.Children) == 0 {
		t.Fatalf("tree: %d %s", code, body)
	}
	code, capped, _ := get(t, ts.URL+"/api/v1/tree?model="+root+"&max=1")
	if code != 200 || !strings.Contains(capped, `"more":`) {
		t.Errorf("tree max=1: %d %s", code, capped)
	}
	for _, tt := range []struct {
		query string
		code  int
		says  string
	}{
		{"model=" + root + "&depth=0", 400, "depth"},
		{"model=" + root + "&max=-1", 400, "max"},
		{"model=" + root + "&relation=cousin", 400, "relation"},
		{"model=" + root + "&depth=x", 400, "depth"},
		{"", 400, "model"},
		{"model=no/such-model", 404, "not in the database"},
	} {
		if code, body, _ := get(t, ts.URL+"/api/v1/tree?"+tt.query); code != tt.code || !strings.Contains(body, tt.says) {
			t.Errorf("tree?%s: %d %s; want %d saying %q", tt.query, code, body, tt.code, tt.says)
		}
	}
}
