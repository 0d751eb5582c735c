package hubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
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

func getJSON(t *testing.T, url string, header ...string) (*http.Response, any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

func keysOf(v any) string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// TestModelRevisionRoute: @huggingface/hub's modelInfo asks for
// /api/models/{id}/revision/HEAD.
func TestModelRevisionRoute(t *testing.T) {
	s := testServer(t, 1000)
	tests := []struct {
		path     string
		status   int
		id, loc  string
		errorHdr string
	}{
		{"/api/models/org/Base/revision/HEAD", 200, "org/Base", "", ""},
		{"/api/models/ORG/base/revision/main", 200, "org/Base", "", ""},
		{"/api/models/org/Base/revision/" + strings.Repeat("0", 38) + "08", 200, "org/Base", "", ""},
		{"/api/models/org/OldBase/revision/HEAD?expand=likes", 307, "", "/api/models/org/Base/revision/HEAD?expand=likes", ""},
		{"/api/models/nobody/none/revision/HEAD", 401, "", "", "RepoNotFound"},
		{"/api/models/g/secret/revision/HEAD", 401, "", "", "RepoNotFound"},
		{"/api/models/org/Base/revision/nope", 404, "", "", "RevisionNotFound"},
		{"/api/models/org/Base/revision/refs%2Fpr%2F1", 404, "", "", "RevisionNotFound"},
	}
	for _, tt := range tests {
		resp, body := getJSON(t, s.URL+tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if m, _ := body.(map[string]any); tt.id != "" && m["id"] != tt.id {
			t.Errorf("%s: id %v", tt.path, m["id"])
		}
		if got := resp.Header.Get("Location"); got != tt.loc {
			t.Errorf("%s: Location %q, want %q", tt.path, got, tt.loc)
		}
		if got := resp.Header.Get("X-Error-Code"); got != tt.errorHdr {
			t.Errorf("%s: X-Error-Code %q, want %q", tt.path, got, tt.errorHdr)
		}
		if (tt.status == 200) != strings.HasPrefix(resp.Header.Get("ETag"), `W/"`) {
			t.Errorf("%s: ETag %q", tt.path, resp.Header.Get("ETag"))
		}
		if !strings.HasPrefix(resp.Header.Get("X-Request-Id"), "Root=1-") {
			t.Errorf("%s: X-Request-Id %q", tt.path, resp.Header.Get("X-Request-Id"))
		}
	}
}

// TestBodies: which fields each request gets, and what is refused.
func TestBodies(t *testing.T) {
	s := testServer(t, 1000)
	list := "/api/models?filter=base_model:adapter:org/Base"
	tests := []struct {
		path   string
		status int
		keys   string // of the (first) model; "" to skip
	}{
		{"/api/models/org/Base", 200, "_id,author,cardData,config,createdAt,disabled,downloads,gated,id,lastModified,library_name,likes,model-index,modelId,pipeline_tag,private,safetensors,sha,siblings,spaces,tags,usedStorage"},
		{"/api/models/f/lora?expand[]=baseModels&expand[]=childrenModelCount", 200, "_id,baseModels,childrenModelCount,id"},
		{"/api/models/org/Base?expand=safetensors&expand=spaces&expand=transformersInfo&expand=model-index&expand=inferenceProviderMapping", 200, "_id,id,inferenceProviderMapping,model-index,safetensors,spaces"},
		{"/api/models/org/Base?expand=cardData&expand=config&expand=siblings&expand=trendingScore&expand=downloadsAllTime", 200, "_id,cardData,config,downloadsAllTime,id,siblings,trendingScore"},
		{"/api/models/org/Base?expand=bogus", 400, ""},
		{"/api/models/org/Base?full=true&expand=tags", 400, ""},
		{"/api/models/org/Base?full=true", 200, ""},
		{list, 200, "_id,createdAt,downloads,id,library_name,likes,modelId,pipeline_tag,private,tags,trendingScore"},
		{list + "&full=true", 200, "_id,author,createdAt,disabled,downloads,gated,id,lastModified,library_name,likes,modelId,pipeline_tag,private,sha,siblings,tags,trendingScore"},
		{list + "&cardData=true&config=True", 200, "_id,cardData,config,createdAt,downloads,id,library_name,likes,modelId,pipeline_tag,private,tags,trendingScore"},
		{list + "&expand[]=safetensors&expand[]=gated", 200, "_id,gated,id,safetensors"},
		{list + "&expand[]=baseModels", 400, ""},
		{list + "&expand[]=usedStorage", 400, ""},
		{list + "&cardData=1&expand[]=tags", 400, ""},
		{list + "&config=true&expand=tags", 400, ""},
	}
	for _, tt := range tests {
		resp, body := getJSON(t, s.URL+tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if l, ok := body.([]any); ok && len(l) > 0 {
			body = l[0]
		}
		if tt.keys != "" && keysOf(body) != tt.keys {
			t.Errorf("%s: keys\n %s, want\n %s", tt.path, keysOf(body), tt.keys)
		}
	}
	_, body := getJSON(t, s.URL+"/api/models/f/lora?expand[]=baseModels&expand[]=cardData")
	got, _ := json.Marshal(body.(map[string]any)["baseModels"])
	if string(got) != `{"models":[{"_id":"`+fmt.Sprintf("%024x", hash("org/Base"))+`","id":"org/Base"}],"relation":"adapter"}` {
		t.Errorf("baseModels %s", got)
	}
	card, _ := json.Marshal(body.(map[string]any)["cardData"])
	if string(card) != `{"base_model":"org/Base","base_model_relation":"adapter"}` {
		t.Errorf("cardData %s", card)
	}
	// A model without parents has no baseModels.
	if _, body := getJSON(t, s.URL+"/api/models/org/Base?expand[]=baseModels"); keysOf(body) != "_id,id" {
		t.Errorf("base's baseModels: %v", body)
	}
}

func sortWorld() *World {
	w := NewWorld()
	for i := range 23 {
		w.Add(Model{ID: fmt.Sprintf("o/m%02d", i), Downloads: int64(i % 5), Likes: int64(i % 3), TrendingScore: int64(i % 4),
			LastModified: time.Date(2025, 1, 1+i%7, 0, 0, 0, 0, time.UTC)})
	}
	return w
}

// TestSortAndSkip: every sort the Hub accepts pages the same as one page,
// descending; skip offsets; the next link has no skip.
func TestSortAndSkip(t *testing.T) {
	s := NewServer(sortWorld())
	defer s.Close()
	listAll := func(url string) []string {
		var ids []string
		for pages := 0; url != ""; pages++ {
			if pages > 30 {
				t.Fatal("pagination does not end")
			}
			resp, body := getJSON(t, url)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", url, resp.StatusCode)
			}
			for _, m := range body.([]any) {
				ids = append(ids, m.(map[string]any)["id"].(string))
			}
			url = ""
			if l := resp.Header.Get("Link"); l != "" {
				url = linkRE.FindStringSubmatch(l)[1]
				if strings.Contains(url, "skip=") {
					t.Errorf("next link keeps skip: %s", url)
				}
			}
		}
		return ids
	}
	for _, by := range SortKeys {
		whole := listAll(s.URL + "/api/models?limit=100&sort=" + by)
		paged := listAll(s.URL + "/api/models?limit=4&sort=" + by)
		if strings.Join(whole, " ") != strings.Join(paged, " ") || len(whole) != 23 {
			t.Errorf("sort=%s: pages %v, one page %v", by, paged, whole)
		}
		for i := 1; i < len(whole); i++ {
			a, _ := s.World.Get(whole[i-1])
			b, _ := s.World.Get(whole[i])
			if sortKey(&a, by) < sortKey(&b, by) {
				t.Errorf("sort=%s: %s before %s", by, a.ID, b.ID)
			}
		}
		skipped := listAll(s.URL + "/api/models?limit=4&skip=5&sort=" + by)
		if strings.Join(skipped, " ") != strings.Join(whole[5:], " ") {
			t.Errorf("sort=%s&skip=5: %v, want %v", by, skipped, whole[5:])
		}
	}
	for _, q := range []string{"sort=bogus", "skip=-1", "skip=x"} {
		if resp, _ := getJSON(t, s.URL+"/api/models?"+q); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

// TestLinkScheme: next links carry the scheme the client used.
func TestLinkScheme(t *testing.T) {
	s := NewServer(sortWorld())
	defer s.Close()
	for _, tt := range []struct{ proto, want string }{{"", "http://"}, {"https", "https://"}, {"http", "http://"}} {
		resp, _ := getJSON(t, s.URL+"/api/models?limit=2", "X-Forwarded-Proto", tt.proto)
		if l := resp.Header.Get("Link"); !strings.HasPrefix(l, "<"+tt.want+strings.TrimPrefix(s.URL, "http://")) {
			t.Errorf("X-Forwarded-Proto %q: Link %s", tt.proto, l)
		}
	}
	tls := NewUnstartedServer(sortWorld())
	tls.StartTLS()
	defer tls.Close()
	resp, err := tls.Client().Get(tls.URL + "/api/models?limit=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := resp.Header.Get("Link"); !strings.HasPrefix(l, "<"+tls.URL+"/") {
		t.Errorf("over TLS: Link %s", l)
	}
}

// TestTreeWorld: a recorded tree keeps the recorded gated and
// lastModified, so sort=lastModified follows the recording.
func TestTreeWorld(t *testing.T) {
	path, ok := Recording("../../../shared/hub-recordings/model_metadata_analyses", "Llama-2-7b_finetunes_20250422_180448.json")
	if !ok {
		t.Skip("no recorded tree")
	}
	tr, err := ReadTree(path)
	if err != nil {
		t.Fatal(err)
	}
	w := tr.World()
	root, _ := w.Get("meta-llama/Llama-2-7b")
	if root.Gated != "manual" || !root.LastModified.Equal(time.Date(2024, 4, 17, 8, 12, 44, 0, time.UTC)) || root.SHA != "69656aac4cb47911a639f5890ff35b41ceb82e98" {
		t.Errorf("root: gated %v, lastModified %v, sha %s", root.Gated, root.LastModified, root.SHA)
	}
	differ := 0
	for _, id := range w.IDs() {
		if m, _ := w.Get(id); !m.LastModified.Equal(m.CreatedAt) {
			differ++
		}
	}
	if differ < 50 {
		t.Errorf("only %d of %d models have a lastModified of their own", differ, w.Len())
	}
}

func TestFaultNamesAndEveryNth(t *testing.T) {
	for i, n := range FaultNames() {
		f, err := ParseFault(n)
		if err != nil || f != Fault(i) || f.String() != n {
			t.Errorf("%q: %v %v", n, f, err)
		}
	}
	if _, err := ParseFault("boom"); err == nil {
		t.Error("ParseFault(boom) accepted")
	}
	f := EveryNth(3, Status503)
	var got []Fault
	for i := 1; i <= 6; i++ {
		got = append(got, f(i, nil))
	}
	if fmt.Sprint(got) != "[none none 503 none none 503]" {
		t.Errorf("EveryNth(3): %v", got)
	}
}

func TestUpdateKeepsPlace(t *testing.T) {
	w := sortWorld()
	before := w.list(nil, "")
	if !w.Update("o/m03", func(m *Model) { m.Gated = "auto"; m.Private = true }) || w.Update("o/none", func(*Model) {}) {
		t.Fatal("Update found the wrong models")
	}
	m, _ := w.Get("o/m03")
	if m.Gated != "auto" || !m.Private {
		t.Errorf("not updated: %+v", m)
	}
	if err := w.Update("o/m03", func(m *Model) { m.Private = false }); !err {
		t.Fatal("second update")
	}
	after := w.list(nil, "")
	for i := range before {
		if before[i].ID != after[i].ID {
			t.Fatalf("order changed at %d: %s, %s", i, before[i].ID, after[i].ID)
		}
	}
}

// TestPagesShortWithoutFull: PageSizeWithoutFull caps a listing's pages
// unless it asks for full=true, whose models come whole; expand[] with
// full is refused; author= keeps an organisation's models.
func TestPagesShortWithoutFull(t *testing.T) {
	s := testServer(t, 1000)
	s.PageSizeWithoutFull = 2
	tests := []struct {
		query  string
		models int
		next   bool
		keys   string // of the first model
	}{
		{"limit=1000&expand[]=tags", 2, true, "_id,id,tags"},
		{"limit=1000&full=true", 7, false, "_id,author,createdAt,disabled,downloads,gated,id,lastModified,library_name,likes,modelId,pipeline_tag,private,sha,siblings,tags,trendingScore"},
		{"limit=1000&author=ORG&expand[]=createdAt", 1, false, "_id,createdAt,id"},
	}
	for _, tt := range tests {
		resp, body := getJSON(t, s.URL+"/api/models?"+tt.query)
		list, _ := body.([]any)
		if resp.StatusCode != 200 || len(list) != tt.models || (resp.Header.Get("Link") != "") != tt.next {
			t.Errorf("%s: status %d, %d models, Link %q", tt.query, resp.StatusCode, len(list), resp.Header.Get("Link"))
			continue
		}
		if got := keysOf(list[0]); got != tt.keys {
			t.Errorf("%s: keys %s, want %s", tt.query, got, tt.keys)
		}
	}
	if resp, _ := getJSON(t, s.URL+"/api/models?full=true&expand[]=tags"); resp.StatusCode != 400 {
		t.Errorf("full with expand: status %d, want 400", resp.StatusCode)
	}
}
