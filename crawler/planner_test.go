package crawler_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// walkCost is what a walk of root's family costs on w, in requests,
// worked out from the world itself rather than through a crawl: the seed's
// own record, then for every member, breadth-first and once each, the
// pages of its children's listing (one when it has none).
func walkCost(w *hubtest.World, root string, page int) (cost, members int) {
	children := map[string][]string{}
	for _, id := range w.IDs() {
		m, _ := w.Get(id)
		if m.Private {
			continue
		}
		for _, t := range m.Tags {
			if p, ok := strings.CutPrefix(t, "base_model:"); ok && !strings.Contains(p, ":") {
				children[p] = append(children[p], id)
			}
		}
	}
	cost = 1
	seen := map[string]bool{root: true}
	queue := []string{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		kids := slices.Compact(slices.Sorted(slices.Values(children[n])))
		cost += max(1, (len(kids)+page-1)/page)
		for _, c := range kids {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return cost, len(seen)
}

// familyWorld is a generated family: root, then levels[i] models at depth
// i+1, each a child of a model of the level above drawn by a fixed hash
// (so that children are not bunched under the first parents in id order),
// among filler models of other organisations.
func familyWorld(root string, levels []int, filler int) *hubtest.World {
	w := hubtest.NewWorld()
	w.Add(hubtest.Model{ID: root, Tags: []string{"transformers"}})
	above := []string{root}
	h := uint64(14695981039346656037)
	for d, n := range levels {
		var level []string
		for i := range n {
			h = (h ^ uint64(i+d*7919)) * 1099511628211
			parent := above[int(h>>33)%len(above)]
			if d == 0 {
				parent = root
			}
			id := fmt.Sprintf("org%d/%s-d%d-%d", h%97, strings.ReplaceAll(root, "/", "-"), d+1, i)
			w.Add(hubtest.Model{ID: id, Tags: append([]string{"transformers"}, hubtest.ParentTags(hubtest.Parent{ID: parent, Relation: "finetune"})...)})
			level = append(level, id)
		}
		above = level
	}
	for i := range filler {
		w.Add(hubtest.Model{ID: fmt.Sprintf("filler%d/model-%d", i%50, i), Tags: []string{"transformers"}})
	}
	return w
}

// TestPlannerCost measures the planner against walking only and scanning
// only, in requests, on the recorded Llama-2 families (a generated family
// of the same shape when the recordings are absent) and on a generated
// family larger than a scan of a Hub of PublishedHubSize models, and
// checks it stays within 1.1x of the cheaper. The figures are logged (go
// test -run TestPlannerCost -v ./crawler). A scan is counted as the
// planner reckons it (3,030 requests for the published Hub): the fake Hub
// holds a few thousand models, so the scan a switch starts costs a few
// requests here, and the test adds what it would cost on the real Hub.
func TestPlannerCost(t *testing.T) {
	type family struct {
		name, root string
		world      func(t *testing.T) *hubtest.World
	}
	recorded := func(file string, levels []int) func(t *testing.T) *hubtest.World {
		return func(t *testing.T) *hubtest.World {
			if path, ok := recordingPath(file); ok {
				tr, err := hubtest.ReadTree(path)
				if err != nil {
					t.Fatal(err)
				}
				return tr.World()
			}
			t.Logf("recording absent or hidden (%s): a generated family of levels %v instead", hubtest.NoSharedEnv, levels)
			return familyWorld("meta-llama/"+strings.Split(file, "_")[0], levels, 100)
		}
	}
	families := []family{
		{"Llama-2-7b", "meta-llama/Llama-2-7b", recorded("Llama-2-7b_finetunes_20250422_180448.json", []int{44, 80, 40, 9})},
		{"Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-chat-hf", recorded("Llama-2-7b-chat-hf_finetunes_20250422_180448.json", []int{1630, 50})},
		{"generated 1,500 x 2", "big/Base", func(*testing.T) *hubtest.World { return familyWorld("big/Base", []int{1500, 3000}, 500) }},
		{"generated 5,000 wide", "wide/Base", func(*testing.T) *hubtest.World { return familyWorld("wide/Base", []int{5000, 200}, 100) }},
	}
	const page = 1000
	scanOnly := int(math.Ceil(float64(crawler.PublishedHubSize) / page))
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			world := f.world(t)
			root := f.root
			if _, ok := world.Get(root); !ok {
				t.Fatalf("%s is not in the world", root)
			}
			walkOnly, members := walkCost(world, root, page)
			srv := hubtest.NewServer(world)
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL, Parallel: 8}, st)
			var plans []crawler.Plan
			stats, err := w.Crawl(context.Background(), crawler.Request{Seeds: []graph.ModelID{graph.ModelID(root)}, Depth: -1,
				Planned: func(p crawler.Plan) { plans = append(plans, p) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(plans) == 0 {
				t.Fatal("no plan")
			}
			planner := int(stats.Requests)
			if last := plans[len(plans)-1]; last.Mode == "scan" {
				scanned := 0 // the pages of the fake Hub's scan, counted instead as the real Hub's
				for _, r := range srv.Requests() {
					if strings.HasPrefix(r.URL, "/api/models?") && !strings.Contains(r.URL, "filter=") {
						scanned++
					}
				}
				planner += last.ScanCost - scanned
			}
			best := min(walkOnly, scanOnly)
			t.Logf("%s: %d members; walk only %d, scan only %d, planner %d (%.2fx the cheaper; %d requests here)", f.name, members,
				walkOnly, scanOnly, planner, float64(planner)/float64(best), stats.Requests)
			for _, p := range plans {
				t.Logf("  plan: %s — %s", p.Mode, p.Reason)
			}
			if float64(planner) > 1.1*float64(best) {
				t.Errorf("planner %d requests, more than 1.1x the cheaper of walk (%d) and scan (%d)", planner, walkOnly, scanOnly)
			}
			if plans[len(plans)-1].Mode == "walk" {
				if int(stats.Requests) != walkOnly+1 {
					t.Errorf("the walk made %d requests; the world says %d, and 1 to plan", stats.Requests, walkOnly)
				}
				if c := count(t, st, root); c.Descendants.Total+1 != members {
					t.Errorf("the walk stored a family of %d; the world has %d members", c.Descendants.Total+1, members)
				}
			}
		})
	}
}

// TestPlanStopsAskingOnceAScanWins: the planner asks the Hub about seeds
// only until what it knows already costs more than a scan.
func TestPlanStopsAskingOnceAScanWins(t *testing.T) {
	world := familyWorld("wide/Base", []int{600}, 10)
	srv := hubtest.NewServer(world)
	defer srv.Close()
	w := walker(t, crawler.Config{Endpoint: srv.URL, HubSize: 100_000}, memStore(t)) // a scan: 100 requests
	p, err := w.PlanCrawl(context.Background(), []graph.ModelID{"wide/Base", "filler1/model-1", "filler2/model-2"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "scan" || p.ScanCost != 100 || srv.RequestCount() != 1 || !strings.HasSuffix(p.Reason, "(2 seeds not asked about: a scan costs less already)") {
		t.Errorf("plan %+v after %d requests", p, srv.RequestCount())
	}
}
