package hubtest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func testServer(t *testing.T, page int) *Server {
	w := NewWorld()
	w.Add(Model{ID: "org/Base", Tags: []string{"license:mit"}})
	for _, id := range []string{"a/one", "b/two", "c/three", "d/four", "e/five"} {
		w.Add(Model{ID: id, Downloads: 3, Tags: ParentTags(Parent{ID: "org/Base", Relation: "finetune"})})
	}
	w.Add(Model{ID: "f/lora", Tags: ParentTags(Parent{ID: "org/Base", Relation: "adapter"})})
	w.Add(Model{ID: "g/secret", Private: true, Tags: ParentTags(Parent{ID: "org/Base", Relation: "finetune"})})
	w.Rename("org/OldBase", "org/Base")
	s := NewUnstartedServer(w)
	s.MaxPageSize = page
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

var linkRE = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

func TestListPagination(t *testing.T) {
	for _, page := range []int{1, 2, 4, 1000} {
		s := testServer(t, page)
		url := s.URL + "/api/models?filter=base_model:org/Base&limit=1000&expand[]=tags&expand[]=downloads"
		var ids []string
		for pages := 0; url != ""; pages++ {
			if pages > 20 {
				t.Fatal("pagination does not end")
			}
			resp, body := get(t, url)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", url, resp.StatusCode, body)
			}
			var ms []map[string]any
			if err := json.Unmarshal(body, &ms); err != nil {
				t.Fatal(err)
			}
			if len(ms) > page {
				t.Errorf("page of %d > %d", len(ms), page)
			}
			for _, m := range ms {
				ids = append(ids, m["id"].(string))
				for k := range m {
					if k != "_id" && k != "id" && k != "tags" && k != "downloads" {
						t.Errorf("field %q not asked for", k)
					}
				}
			}
			url = ""
			if l := resp.Header.Get("Link"); l != "" {
				url = linkRE.FindStringSubmatch(l)[1]
			}
		}
		if got := strings.Join(ids, " "); got != "a/one b/two c/three d/four e/five f/lora" {
			t.Errorf("page %d: listed %s", page, got)
		}
	}
}

func TestModelEndpoint(t *testing.T) {
	s := testServer(t, 1000)
	tests := []struct {
		path, wantID, location string
		status                 int
	}{
		{"/api/models/org/Base", "org/Base", "", 200},
		{"/api/models/ORG/base", "org/Base", "", 200},
		{"/api/models/org/OldBase", "", "/api/models/org/Base", 307},
		{"/api/models/nobody/none", "", "", 401},
		{"/api/models/g/secret", "", "", 401},
		{"/api/models/org/Base?expand[]=childrenModelCount", "org/Base", "", 200},
	}
	for _, tt := range tests {
		resp, body := get(t, s.URL+tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.location != "" && resp.Header.Get("Location") != tt.location {
			t.Errorf("%s: Location %q", tt.path, resp.Header.Get("Location"))
		}
		if tt.status == 401 && resp.Header.Get("X-Error-Code") != "RepoNotFound" {
			t.Errorf("%s: X-Error-Code %q", tt.path, resp.Header.Get("X-Error-Code"))
		}
		if tt.wantID != "" {
			var m map[string]any
			json.Unmarshal(body, &m)
			if m["id"] != tt.wantID {
				t.Errorf("%s: id %v", tt.path, m["id"])
			}
			if strings.Contains(tt.path, "childrenModelCount") {
				cc, _ := json.Marshal(m["childrenModelCount"])
				if string(cc) != `{"adapter":1,"finetune":5,"merge":0,"quantized":0}` {
					t.Errorf("childrenModelCount %s", cc)
				}
			}
		}
	}
	// baseModels and childrenModelCount are refused on lists, as on the Hub.
	if resp, _ := get(t, s.URL+"/api/models?expand[]=childrenModelCount"); resp.StatusCode != 400 {
		t.Errorf("list with childrenModelCount: %d", resp.StatusCode)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(GenOptions{Models: 3000, Seed: 7})
	b := Generate(GenOptions{Models: 3000, Seed: 7})
	if strings.Join(a.IDs(), ",") != strings.Join(b.IDs(), ",") {
		t.Fatal("same seed, different worlds")
	}
	withParent := 0
	for _, id := range a.IDs() {
		m, _ := a.Get(id)
		for _, tag := range m.Tags {
			if strings.HasPrefix(tag, "base_model:") {
				withParent++
				break
			}
		}
	}
	if frac := float64(withParent) / 3000; frac < 0.25 || frac > 0.42 {
		t.Errorf("%.2f of models have a parent, want about a third", frac)
	}
}
