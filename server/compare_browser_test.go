package server

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

var compareShots = flag.String("compare-shots", "", "write the Compare page's and the overview's screenshots into this directory (default: the test's temporary directory)")

// TestComparePage drives the explorer's ecosystem pages in headless
// Chromium over a scanned generated Hub: the overview's organisations, one
// organisation's ecosystem, then a second one added with the autocomplete
// and the comparison drawn — its chart, table and overlap equal the API's.
func TestComparePage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 3}))
	defer hub.Close()
	if _, err := query.New(st).Crawl(ctx, query.Hub{Endpoint: hub.URL, MinWait: time.Millisecond, MaxWait: time.Second},
		query.CrawlRequest{All: true, Full: true}, query.CrawlWatch{}); err != nil {
		t.Fatal(err)
	}
	engine, err := query.Open(ctx, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	srv, err := New(ctx, Config{Engine: engine, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	// apiGet decodes an API answer as the page reads it.
	apiGet := func(path string, v any) {
		t.Helper()
		status, body, _ := get(t, ts.URL+path)
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatal(err)
		}
	}

	bctx := startChromium(t, ctx, bin, 1280, 900)
	console := consoleErrors(bctx)
	tab := tab{t, bctx}
	run, waitFor := tab.run, tab.waitFor
	// eval returns what js evaluates to, decoded from JSON into v.
	eval := func(what, js string, v any) {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string]("JSON.stringify("+js+")", chromedp.EvalAwaitPromise))
		if err == nil {
			err = json.Unmarshal([]byte(s), v)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shotDir := *compareShots
	if shotDir == "" {
		shotDir = t.TempDir()
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(shotDir, name)
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", out)
	}
	// specInHash is how the page writes an ecosystem in its links
	// (URLSearchParams: "/" escaped, "*" not).
	specInHash := func(spec string) string { return strings.ReplaceAll(url.QueryEscape(spec), "%2A", "*") }

	// The overview lists the largest organisations, each linking to its ecosystem.
	run("overview", chromedp.Navigate(ts.URL+"/#/"))
	waitFor("organisations", `document.body.dataset.ready === 'true' && document.querySelector('#organisations table.orgs')`)
	var orgs struct{ Organisations []query.OrgSize }
	apiGet("/api/v1/organisations?top=15", &orgs)
	var shownOrgs [][3]string
	eval("organisations shown", `[...document.querySelectorAll('#organisations a[data-org]')].map((a) => [a.textContent, a.getAttribute('href'), a.closest('tr').cells[2].textContent])`, &shownOrgs)
	if len(orgs.Organisations) < 2 || len(shownOrgs) != len(orgs.Organisations) {
		t.Fatalf("organisations shown %v; the API lists %v", shownOrgs, orgs.Organisations)
	}
	for i, o := range orgs.Organisations {
		if want := [3]string{o.Org + "/*", "#/compare?e=" + specInHash(o.Org+"/*"), thousands(o.Derivatives)}; shownOrgs[i] != want {
			t.Errorf("organisation %d shown %q, want %q", i, shownOrgs[i], want)
		}
	}
	screenshot("overview-organisations.png")

	// One organisation's ecosystem: its count.
	a, b := orgs.Organisations[1].Org+"/*", orgs.Organisations[0].Org+"/*"
	run("open "+a, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#organisations a[data-org=%q]`, orgs.Organisations[1].Org))))
	waitFor("the ecosystem of "+a, fmt.Sprintf(`location.hash === %q && document.body.dataset.ready === 'true' && document.querySelector('#eco-roots')`, "#/compare?e="+specInHash(a)))
	var count query.EcosystemCount
	apiGet("/api/v1/count?model="+url.QueryEscape(a), &count)
	var facts map[string]string
	eval("ecosystem facts", `Object.fromEntries([...document.querySelectorAll('#compare-body [data-count]')].map((e) => [e.dataset.count, e.textContent]))`, &facts)
	if want := map[string]string{"matched": thousands(count.Matched), "descendants.total": thousands(count.Descendants.Total),
		"shared": thousands(count.Shared), "max_depth": thousands(count.MaxDepth)}; fmt.Sprint(facts) != fmt.Sprint(want) {
		t.Errorf("%s shown %v; the API says %v", a, facts, want)
	}

	// Typing "org/" suggests the organisation's ecosystem; picking it compares.
	option := chromedp.CSS(fmt.Sprintf(`#eco-list [role=option][data-spec=%q]`, b))
	run("type "+b, chromedp.SendKeys(chromedp.CSS("#eco-input"), strings.TrimSuffix(b, "*")), chromedp.WaitVisible(option))
	var first string
	eval("first suggestion", `document.querySelector('#eco-list [role=option]').dataset.spec`, &first)
	if first != b {
		t.Errorf("typing %q suggests %q first, want %q", strings.TrimSuffix(b, "*"), first, b)
	}
	screenshot("compare-suggestions.png")
	run("pick "+b, chromedp.Click(option))
	hash := "#/compare?e=" + specInHash(a) + "&e=" + specInHash(b)
	waitFor("the comparison", fmt.Sprintf(`location.hash === %q && document.body.dataset.ready === 'true' && document.querySelector('#compare-chart')`, hash))

	var cmp query.Comparison
	apiGet("/api/v1/compare?ecosystem="+url.QueryEscape(a)+"&ecosystem="+url.QueryEscape(b)+"&top=5&examples=5", &cmp)
	var page struct {
		Paths []struct {
			Eco, Last, Points int
			Stroke            string
		}
		Cells     [][4]string // eco, key, data-value, text
		Top       [][][2]string
		Overlaps  [][2]string
		Examples  [][]string
		Collide   []string
		Legend    []string
		Headings  []string
		ChartSize [2]float64
	}
	eval("the comparison shown", `(() => {
		const all = (sel) => [...document.querySelectorAll(sel)];
		const texts = all('#compare-chart text').map((t) => ({ s: t.textContent, b: t.getBBox() }));
		const collide = [];
		texts.forEach((p, i) => texts.forEach((q, j) => { if (i < j && p.b.x < q.b.x + q.b.width && q.b.x < p.b.x + p.b.width &&
			p.b.y < q.b.y + q.b.height && q.b.y < p.b.y + p.b.height) collide.push(p.s + ' / ' + q.s); }));
		const chart = document.querySelector('#compare-chart').getBoundingClientRect();
		return {
			paths: all('#compare-chart path.eco-line').map((p) => ({ eco: +p.dataset.eco, last: +p.dataset.last, points: +p.dataset.points, stroke: getComputedStyle(p).stroke })),
			cells: all('#compare-table [data-key]').map((c) => [c.dataset.eco, c.dataset.key, c.dataset.value, c.textContent]),
			top: all('#compare-table [data-top]').map((ol) => [...ol.querySelectorAll('a')].map((l) => [l.textContent, l.getAttribute('href')])),
			overlaps: all('#compare-overlaps [data-overlap]').map((c) => [c.dataset.overlap, c.dataset.value]),
			examples: all('#compare-overlaps [data-examples]').map((ol) => [...ol.querySelectorAll('a')].map((l) => l.textContent)),
			collide, legend: all('#compare-growth .eco-legend > span').map((s) => s.textContent),
			headings: all('#compare-table thead th').map((th) => th.textContent), chartSize: [chart.width, chart.height],
		}; })()`, &page)

	// The chart: one line per ecosystem, in distinct colours, ending at its size.
	if len(page.Paths) != len(cmp.Ecosystems) {
		t.Fatalf("%d lines drawn for %d ecosystems", len(page.Paths), len(cmp.Ecosystems))
	}
	for i, e := range cmp.Ecosystems {
		p := page.Paths[i]
		if last := e.Cumulative[len(e.Cumulative)-1]; p.Eco != i || p.Points != len(cmp.Months) || p.Last != last {
			t.Errorf("line %d: %+v; want ecosystem %d over %d months ending at %d", i, p, i, len(cmp.Months), last)
		}
		if want := fmt.Sprintf("%s %s", e.Ecosystem, thousands(e.Cumulative[len(e.Cumulative)-1])); page.Legend[i] != want || page.Headings[i] != e.Ecosystem {
			t.Errorf("legend %q, heading %q; want %q and %q", page.Legend[i], page.Headings[i], want, e.Ecosystem)
		}
	}
	if page.Paths[0].Stroke == page.Paths[1].Stroke || page.Paths[0].Stroke == "" {
		t.Errorf("the lines' colours: %q and %q", page.Paths[0].Stroke, page.Paths[1].Stroke)
	}
	if len(page.Collide) > 0 || page.ChartSize[0] < 600 || page.ChartSize[1] < 200 {
		t.Errorf("chart %v px; labels that overlap: %q", page.ChartSize, page.Collide)
	}

	// The table: every figure the API's.
	want := map[[2]string]string{} // (eco, key) → value
	for i, e := range cmp.Ecosystems {
		eco := strconv.Itoa(i)
		ints := map[string]int{"matched": e.Matched, "shared": e.Shared, "max_depth": e.MaxDepth, "descendants.total": e.Descendants.Total,
			"descendants.finetune": e.Descendants.Finetune, "descendants.adapter": e.Descendants.Adapter,
			"descendants.quantized": e.Descendants.Quantized, "descendants.merge": e.Descendants.Merge}
		for k, n := range ints {
			want[[2]string{eco, k}] = strconv.Itoa(n) + " " + thousands(n)
		}
		want[[2]string{eco, "share"}] = strconv.FormatFloat(e.Share, 'g', -1, 64)
		want[[2]string{eco, "keeps_base_license"}] = strconv.FormatFloat(e.KeepsBaseLicense, 'g', -1, 64)
		var top [][2]string
		for _, m := range e.Top {
			top = append(top, [2]string{string(m.Model), "#/model/" + string(m.Model)})
		}
		if i >= len(page.Top) || fmt.Sprint(page.Top[i]) != fmt.Sprint(top) {
			t.Errorf("most downloaded of %s shown %v; want %v", e.Ecosystem, page.Top, top)
		}
	}
	got := map[[2]string]string{}
	for _, c := range page.Cells {
		k := [2]string{c[0], c[1]}
		if c[1] == "share" || c[1] == "keeps_base_license" {
			got[k] = c[2]
		} else {
			got[k] = c[2] + " " + c[3]
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("table shown\n%v\nwant\n%v", got, want)
	}

	// The overlap: its size and examples.
	if len(cmp.Overlaps) != 1 || len(page.Overlaps) != 1 || page.Overlaps[0] != [2]string{"0", strconv.Itoa(cmp.Overlaps[0].Members)} {
		t.Errorf("overlaps shown %v; the API's %+v", page.Overlaps, cmp.Overlaps)
	} else {
		var ex []string
		for _, m := range cmp.Overlaps[0].Examples {
			ex = append(ex, string(m.Model))
		}
		if len(ex) == 0 || len(page.Examples) != 1 || fmt.Sprint(page.Examples[0]) != fmt.Sprint(ex) {
			t.Errorf("overlap examples shown %v; want %v", page.Examples, ex)
		}
	}
	screenshot("compare.png")

	// Removing an ecosystem leaves the other alone.
	run("remove "+a, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#eco-picker li[data-spec=%q] button`, a))))
	waitFor("one left", fmt.Sprintf(`location.hash === %q && document.body.dataset.ready === 'true' && document.querySelector('#eco-roots')`, "#/compare?e="+specInHash(b)))

	for _, m := range console() {
		t.Errorf("console: %s", m)
	}
}
