package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// TestPopularityRoutes: GET /api/v1/model gives the model's all-time
// downloads (none for a stub), and GET /api/v1/count the family's sums
// under count --json's keys, exactly the fake Hub's, and stats' ranking
// of the family the same.
func TestPopularityRoutes(t *testing.T) {
	_, ts, _, _ := serveModelPageWorld(t, 1)
	world := modelPageWorld()

	root, _ := world.Get(mpRoot)
	all, _ := hubtest.DownloadsAllTimeOf(root)
	for _, tc := range []struct {
		model, want string // want "": no downloads_all_time at all
	}{
		{mpRoot, fmt.Sprintf(`"downloads_all_time":%d`, all)},
		{mpStub, ""},
	} {
		status, body, _ := get(t, ts.URL+"/api/v1/model?model="+tc.model)
		if status != 200 {
			t.Fatalf("%s: %d %s", tc.model, status, body)
		}
		if tc.want == "" && strings.Contains(body, "downloads_all_time") || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %s; want %q", tc.model, body, tc.want)
		}
	}

	// The family's sums, from the world's own lineage.
	l := world.Lineage()
	seen := map[graph.ModelID]bool{mpRoot: true}
	queue := []graph.ModelID{mpRoot}
	var want graph.Popularity
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for e := range l.Edges {
			if e.Parent != id || seen[e.Child] {
				continue
			}
			seen[e.Child] = true
			queue = append(queue, e.Child)
			m, _ := world.Get(string(e.Child))
			n, served := hubtest.DownloadsAllTimeOf(m)
			info := graph.NodeInfo{Downloads: m.Downloads, Likes: m.Likes, DownloadsAllTime: n, HasDownloadsAllTime: served}
			want.Add(&info)
		}
	}
	if len(seen) < 3 {
		t.Fatalf("the world's family has %d members: too few for the test", len(seen))
	}
	status, body, _ := get(t, ts.URL+"/api/v1/count?model="+mpRoot)
	if status != 200 {
		t.Fatalf("count: %d %s", status, body)
	}
	var got struct {
		graph.Popularity
		Descendants graph.RelationCounts `json:"descendants"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Popularity != want || got.Descendants.Total != len(seen)-1 {
		t.Errorf("count: %s\nwant %+v over %d descendants", body, want, len(seen)-1)
	}
	for _, k := range []string{`"downloads":`, `"downloads_all_time":`, `"members_without_all_time":`, `"likes":`} {
		if !strings.Contains(body, k) {
			t.Errorf("count lacks %s: %s", k, body)
		}
	}

	// stats ranks the family with the same sums.
	status, body, _ = get(t, ts.URL+"/api/v1/stats?root="+mpRoot)
	if status != 200 {
		t.Fatalf("stats: %d %s", status, body)
	}
	var stats struct {
		Families []struct {
			Model graph.ModelID `json:"model"`
			graph.Popularity
		} `json:"largest_families"`
	}
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.Families) != 1 || stats.Families[0].Model != mpRoot || stats.Families[0].Popularity != want {
		t.Errorf("stats' largest_families: %+v\nwant %s with %+v", stats.Families, mpRoot, want)
	}
}
