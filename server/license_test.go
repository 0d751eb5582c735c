package server

import (
	"encoding/json"
	"testing"

	"github.com/hflineage/hflineage/query"
)

func TestLicensesAPI(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	status, body, _ := get(t, ts.URL+"/api/v1/licenses?model=c/gguf&edges=true")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var lp query.LicensePaths
	if err := json.Unmarshal([]byte(body), &lp); err != nil {
		t.Fatal(err)
	}
	// Every model of the test world declares llama3.1: every edge keeps it.
	if lp.Model != "c/gguf" || lp.Members != 1 || lp.Edges != 1 || lp.Changes != (query.LicenseChanges{Kept: 1}) ||
		lp.Ancestry == nil || len(lp.Ancestry.Ancestors) != 2 || lp.Ancestry.Class != "community" || len(lp.ChangedEdges) != 0 {
		t.Errorf("licenses of c/gguf: %s", body)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/v1/licenses?model=meta-llama/*&top=3", 200},
		{"/api/v1/licenses", 400},
		{"/api/v1/licenses?model=a--b/c", 400},
		{"/api/v1/licenses?model=" + root + "&top=0", 400},
		{"/api/v1/licenses?model=" + root + "&top=101", 400},
		{"/api/v1/licenses?model=" + root + "&edges=maybe", 400},
		{"/api/v1/licenses?model=no/such", 404},
		{"/api/v1/licenses?model=nobody/*", 404},
	} {
		if status, body, _ := get(t, ts.URL+c.path); status != c.status {
			t.Errorf("%s: %d %s, want %d", c.path, status, body, c.status)
		}
	}
}
