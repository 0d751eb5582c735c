package server

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

var update = flag.Bool("update", false, "rewrite testdata/explorer.png (the screenshot in docs/api.md)")

// chromium finds Debian's Chromium ("" when it is not installed).
func chromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, _ := exec.LookPath("chromium")
	return p
}

// TestExplorer drives the web explorer in headless Chromium over a crawled
// generated family: search, the counts shown, the graph, following a node.
func TestExplorer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// A generated Hub; base-org-1's family has ~250 members over 8 levels.
	const root = "base-org-1/Base-Model-1"
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 1}))
	defer hub.Close()
	w, err := crawler.NewWalker(crawler.Config{Endpoint: hub.URL, MinWait: time.Millisecond}, crawlsink.New(st))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Walk(ctx, []graph.ModelID{root}, crawler.Options{Depth: -1}); err != nil {
		t.Fatal(err)
	}
	engine, err := query.Open(ctx, st, nil)
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

	bctx := startChromium(t, ctx, bin, 1280, 800)

	// Every console error, warning and uncaught exception fails the test.
	console := consoleErrors(bctx)

	tab := tab{t, bctx}
	run, eval, waitFor := tab.run, tab.eval, tab.waitFor
	// checkCounts compares the counts table with the query engine's answer.
	checkCounts := func(id string) {
		t.Helper()
		want, err := engine.Count(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// The title changes when the route starts (ready goes false at
		// once): ready again after it means the new page is drawn, not the
		// last one still on screen.
		waitFor("counts of "+id, fmt.Sprintf(`location.hash === %q && document.title === %q && document.body.dataset.ready === 'true' && document.querySelector('[data-count="max_depth"]')`, "#/model/"+id, id+" — hflineage"))
		shown := eval("read counts", `Object.fromEntries([...document.querySelectorAll('[data-count]')].map((e) => [e.dataset.count, e.textContent]))`).(map[string]any)
		expect := map[string]int{"max_depth": want.MaxDepth}
		for _, r := range []graph.Relation{graph.Adapter, graph.Finetune, graph.Merge, graph.Quantized} {
			expect["children."+string(r)] = want.Children.Get(r)
			expect["descendants."+string(r)] = want.Descendants.Get(r)
		}
		expect["children.total"], expect["descendants.total"] = want.Children.Total, want.Descendants.Total
		for k, n := range expect {
			if got := shown[k]; got != thousands(n) {
				t.Errorf("%s: %s shown %q, want %q", id, k, got, thousands(n))
			}
		}
		if len(shown) != len(expect) {
			t.Errorf("%s: counts shown %v, want the keys of %v", id, shown, expect)
		}
	}

	// Search with the autocomplete and pick the family's root.
	run("open the explorer", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#search")))
	option := chromedp.CSS(fmt.Sprintf(`#search-list [role=option][data-id=%q]`, root))
	run("search", chromedp.SendKeys(chromedp.CSS("#search"), "base-model-1"), chromedp.WaitVisible(option))
	if got := eval("aria", `document.querySelector('#search').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("search box aria-expanded = %v with the list open", got)
	}
	run("pick the model", chromedp.Click(option))
	checkCounts(root)

	// The graph: the root highlighted, edges coloured as in the DOT export.
	waitFor("graph", `document.querySelector('#graph[data-nodes]') && `+graphJS)
	g := eval("graph", `(() => { const cy = `+graphJS+`, col = (r) => { const e = cy.edges('[rel = "' + r + '"]'); return e.length ? e[0].style('line-color') : ''; };
		return { nodes: cy.nodes().length, status: document.querySelector('#graph-status').textContent,
			root: cy.nodes('[root = 1]').map((n) => n.id()), rootColour: cy.nodes('[root = 1]')[0].style('background-color'),
			finetune: col('finetune'), adapter: col('adapter'), quantized: col('quantized'), merge: col('merge') }; })()`).(map[string]any)
	view, err := engine.Graph(ctx, root, 150)
	if err != nil {
		t.Fatal(err)
	}
	wantGraph := map[string]any{"nodes": len(view.Nodes), "status": fmt.Sprintf("%s of %s members (the most downloaded, with their paths)", thousands(len(view.Nodes)), thousands(view.Members)),
		"root": []any{root}, "rootColour": "rgb(255,224,138)",
		"finetune": "rgb(31,119,180)", "adapter": "rgb(44,160,44)", "quantized": "rgb(255,127,14)", "merge": "rgb(148,103,189)"}
	for k, v := range wantGraph {
		if fmt.Sprint(g[k]) != fmt.Sprint(v) {
			t.Errorf("graph %s = %v, want %v", k, g[k], v)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The screenshot: the model page with its counts and graph.
	shot, err := chromedp.Run(bctx, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true),
			Clip: &page.Viewport{X: 0, Y: 0, Width: 1280, Height: 1120, Scale: 1}})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "explorer.png")
	if *update {
		out = filepath.Join("testdata", "explorer.png")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)

	// The size control refetches; a node with hidden members expands in place.
	eval("size 50", `(() => { const s = document.querySelector('#graph-size'); s.value = '50'; s.dispatchEvent(new Event('change')); })()`)
	waitFor("50 nodes", graphJS+` && `+graphJS+`.nodes().length <= 51`)
	before := eval("node count", graphJS+`.nodes().length`).(float64)
	// A right-click (cytoscape's cxttap) on the node with the most hidden members.
	eval("expand", `(() => { const cy = `+graphJS+`; cy.nodes('[hidden > 0][root = 0]').sort((a, b) => b.data('hidden') - a.data('hidden'))[0].emit('cxttap'); })()`)
	waitFor("expanded", fmt.Sprintf(`%s.nodes().length > %v`, graphJS, before))

	// Follow a node with a real click on the canvas: the direct child lying
	// farthest from every other node, so that nothing covers it.
	xy := eval("pick a node", `(async () => { const cy = `+graphJS+`; cy.fit(undefined, 20);
		document.querySelector('#graph').scrollIntoView({block: 'center'});
		await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))); // cytoscape sees the scroll
		const box = cy.container().getBoundingClientRect(), nodes = cy.nodes(), pos = nodes.map((n) => n.renderedPosition());
		let best = null, far = -1;
		nodes.forEach((n, i) => { if (n.data('depth') !== 1) return;
			const d = Math.min(...pos.map((p, j) => (i === j ? Infinity : Math.hypot(p.x - pos[i].x, p.y - pos[i].y))));
			if (d > far) { far = d; best = i; } });
		return { id: nodes[best].id(), x: box.left + pos[best].x, y: box.top + pos[best].y }; })()`).(map[string]any)
	child := xy["id"].(string)
	run("click "+child, chromedp.MouseClickXY(xy["x"].(float64), xy["y"].(float64)))
	checkCounts(child)
	run("ancestry links back to the root", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#ancestors a[data-model=%q]`, root))))
	waitFor("the child's graph", fmt.Sprintf(`document.querySelector('#graph-empty') || (%s && %[1]s.nodes('[root = 1]').map((n) => n.id())[0] === %q)`, graphJS, child))

	// The crawl page: idle, with the walk above among the last runs.
	run("crawl page", chromedp.Navigate(ts.URL+"/#/crawl"))
	waitFor("crawl page", `document.body.dataset.ready === 'true' && document.querySelector('#running h2')`)
	if got := eval("crawl page", `[document.querySelector('#running h2').textContent, document.querySelectorAll('#runs tbody tr').length]`).([]any); got[0] != "Nothing running" || got[1] != float64(1) {
		t.Errorf("crawl page shows %q and %v runs, want \"Nothing running\" and 1", got[0], got[1])
	}

	for _, m := range console() {
		t.Errorf("console: %s", m)
	}
}

// graphJS is the family graph's cytoscape instance in the page (cytoscape
// keeps it on its container): the page exposes nothing for tests.
const graphJS = `(document.querySelector('#graph') && document.querySelector('#graph')._cyreg && document.querySelector('#graph')._cyreg.cy)`

// thousands formats n as the page does (en-US: 12,345).
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// startChromium starts headless Chromium (bin) with a window of width ×
// height for the test, and returns the context of its page; the browser
// stops when ctx ends or the test does.
// tab drives a headless Chromium tab in a browser test: a step that fails
// ends the test, naming what it did.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// run runs the steps.
func (b tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns what js evaluates to (a promise awaited).
func (b tab) eval(what, js string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitFor waits until js is truthy (30 s at most).
func (b tab) waitFor(what, js string) {
	b.t.Helper()
	b.run(what, chromedp.Poll[chromedp.Void]("!!("+js+")", chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
}

func startChromium(t *testing.T, ctx context.Context, bin string, width, height int) context.Context {
	t.Helper()
	actx, acancel := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // start the browser
		t.Fatal(err)
	}
	return bctx
}

// consoleErrors gathers every console error, warning and uncaught
// exception of bctx's page from now on; the function it returns reads them.
func consoleErrors(bctx context.Context) func() []string {
	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				console = append(console, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(console)
	}
}
