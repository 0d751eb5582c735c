package server

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hflineage/hflineage/query"
)

var modelPageShots = flag.String("modelpage-shots", "", "write the model page test's screenshots (overview, model, model without Graphviz, not available) to `DIR`")

// TestModelPageExplorer drives the model page, the overview and the
// search box in headless Chromium over a generated database (three walks
// of mpRoot's family, one run each): the model's facts, the Hub link at
// the configured endpoint, counts that filter the children, the crawl
// date, Enter in the search box, the runs chart's labels, ids that break
// only at '/', plurals, the PDF download, and the crawl offered for a model
// not in the database.
func TestModelPageExplorer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// Graphviz as installed, until the test takes it away (set before the
	// server starts: healthz reads it).
	var drawable atomic.Bool
	drawable.Store(query.GraphvizInstalled())
	graphvizInstalled = drawable.Load
	t.Cleanup(func() { graphvizInstalled = query.GraphvizInstalled })
	_, ts, hub, engine := serveModelPageWorld(t, 3)

	bctx := startChromium(t, ctx, bin, 1280, 900)
	console := consoleErrors(bctx)
	tab := tab{t, bctx}
	run, eval := tab.run, tab.eval
	waitFor := func(what, js string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Poll[chromedp.Void]("!!("+js+")", chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			state, _ := chromedp.Run(bctx, chromedp.Evaluate[any](`[location.hash, (document.querySelector('#children-relation') || {}).value, document.querySelector('main').innerText.slice(0, 3000)]`))
			t.Fatalf("%s: %v; the page: %v", what, err, state)
		}
		run(what, chromedp.Poll[chromedp.Void]("!!("+js+")", chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	}
	// open goes to a model's page and waits until it is drawn.
	open := func(id string) {
		t.Helper()
		eval("open "+id, fmt.Sprintf(`location.hash = %q`, "#/model/"+id))
		waitFor("page of "+id, fmt.Sprintf(`location.hash === %q && document.title === %q && document.body.dataset.ready === 'true'`, "#/model/"+id, id+" — hflineage"))
	}
	shoot := func(name string) {
		t.Helper()
		height := eval("page height", `window.scrollTo(0, 0); document.documentElement.scrollHeight`).(float64)
		shot, err := chromedp.Run(bctx, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
				Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true),
				Clip: &page.Viewport{X: 0, Y: 0, Width: 1280, Height: min(height, 3200), Scale: 1}})
			if err != nil {
				return nil, err
			}
			return r.Data, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		dir := *modelPageShots
		if dir == "" {
			dir = t.TempDir()
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// noBadPlural fails for "1 members" and the like in the page's text.
	noBadPlural := func(where string) {
		t.Helper()
		if bad := eval("plurals", `(document.body.innerText.match(/(^|[^\d,.])1 (members|descendants|models|derivatives|children|runs|roots)\b/g) || []).join('; ')`); bad != "" {
			t.Errorf("%s: a plural after 1: %v", where, bad)
		}
	}

	// The overview says when the data was crawled: the latest run, complete.
	runs, err := engine.Runs(ctx)
	if err != nil || len(runs) != 3 {
		t.Fatalf("runs: %v, %v", runs, err)
	}
	run("overview", chromedp.Navigate(ts.URL+"/"))
	waitFor("overview", `document.body.dataset.ready === 'true' && document.querySelector('#crawled')`)
	want := fmt.Sprintf("Data crawled %s UTC by run 3 (walk of %s): complete.", runs[0].Finished.UTC().Format("2006-01-02 15:04"), mpRoot)
	if got := eval("crawled", `document.querySelector('#crawled').textContent`); got != want {
		t.Errorf("overview says %q, want %q", got, want)
	}
	noBadPlural("overview")
	shoot("overview")

	// Enter with no suggestion chosen opens the best match at once …
	run("search, Enter", chromedp.SendKeys(chromedp.CSS("#search"), "foundation-model-7b\r"))
	waitFor("the best match", fmt.Sprintf(`location.hash === %q && document.body.dataset.ready === 'true'`, "#/model/"+mpRoot))
	// … and says that no model matches, on the page it was on.
	run("search, no match", chromedp.SendKeys(chromedp.CSS("#search"), "zzz-no-such\r"))
	waitFor("no match", `document.querySelector('#search-none') && !document.querySelector('#search-list').hidden`)
	if got := eval("no match", `[document.querySelector('#search-none').textContent, location.hash]`).([]any); got[0] != "No model matches “zzz-no-such”" || got[1] != "#/model/"+mpRoot {
		t.Errorf("Enter without a match: %q on %s", got[0], got[1])
	}
	eval("leave the search box", `document.querySelector('#search').value = ''; document.querySelector('#search').blur()`)

	// The model's facts, from the database.
	waitFor("facts", `document.querySelector('#about [data-fact="downloads"]') && document.querySelector('#history svg')`)
	facts := eval("facts", `Object.fromEntries([...document.querySelectorAll('#about [data-fact]')].map((e) => [e.dataset.fact, e.querySelector('dd').textContent]))`).(map[string]any)
	wantFacts := map[string]string{"downloads": "123,456", "likes": "789", "license": "apache-2.0", "created": "2024-03-01", "last_modified": "2024-06-02",
		"library_name": "transformers", "pipeline_tag": "text-generation", "gated": "yes (manual)", "author": "acme-research"}
	for k, v := range wantFacts {
		if facts[k] != v {
			t.Errorf("fact %s shown %q, want %q", k, facts[k], v)
		}
	}
	if len(facts) != len(wantFacts) {
		t.Errorf("facts shown %v, want %v", facts, wantFacts)
	}
	// On the Hub the server crawls.
	if got := eval("hub link", `document.querySelector('#hub-link').href`); got != hub.URL+"/"+mpRoot {
		t.Errorf("on the Hub links %v, want %s", got, hub.URL+"/"+mpRoot)
	}

	// A relation's number of direct children lists them, filtered.
	listed := func(rel string, n int) []any {
		t.Helper()
		waitFor("children by "+rel, fmt.Sprintf(`document.querySelector('#children-relation').value === %q && document.querySelectorAll('#children tbody tr').length === %d && `+
			`[...document.querySelectorAll('#children tbody tr')].every((tr) => %[1]q === '' || tr.cells[1].textContent === %[1]q)`, rel, n))
		return eval("children", `[...document.querySelectorAll('#children tbody tr')].map((tr) => tr.cells[0].textContent)`).([]any)
	}
	if got := eval("adapter link", `document.querySelector('button[data-count="children.adapter"]').title`); got != "List the 1 adapter child" {
		t.Errorf("the adapter count's title is %q", got)
	}
	run("click the adapters", chromedp.Click(chromedp.CSS(`button[data-count="children.adapter"]`)))
	if got := listed("adapter", 1); fmt.Sprint(got) != "["+mpAdapter+"]" {
		t.Errorf("adapter children listed: %v", got)
	}
	run("click the finetunes", chromedp.Click(chromedp.CSS(`button[data-count="children.finetune"]`)))
	if got := listed("finetune", 3); len(got) != 3 {
		t.Errorf("finetune children listed: %v", got)
	}
	run("click the total", chromedp.Click(chromedp.CSS(`button[data-count="children.total"]`)))
	if got := listed("", 6); len(got) != 6 {
		t.Errorf("all children listed: %v", got)
	}

	// The runs chart: three runs of one day, labelled apart.
	labels := eval("run labels", `[...document.querySelectorAll('#history svg text.label')].map((e) => { const r = e.getBoundingClientRect();
		return { text: e.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom }; })`).([]any)
	var texts []string
	for i, a := range labels {
		la := a.(map[string]any)
		texts = append(texts, la["text"].(string))
		for _, b := range labels[i+1:] {
			lb := b.(map[string]any)
			if la["l"].(float64) < lb["r"].(float64) && lb["l"].(float64) < la["r"].(float64) && la["t"].(float64) < lb["b"].(float64) && lb["t"].(float64) < la["b"].(float64) {
				t.Errorf("run labels %q and %q overlap", la["text"], lb["text"])
			}
		}
	}
	if day := runs[0].Finished.UTC().Format("2006-01-02"); strings.Join(texts, " ") != "#1 "+day+" #2 #3" {
		t.Errorf("run labels %q, want #1 %s #2 #3", texts, day)
	}

	// The download menu: every format, PDF drawn by Graphviz.
	formats := eval("exports", `[...document.querySelectorAll('#exports a.button')].map((a) => a.textContent).join(' ')`)
	if formats != "DOT GRAPHML GEXF JSON CSV CSV-NODES SVG PNG PDF" {
		t.Errorf("download menu: %v", formats)
	}
	if _, err := exec.LookPath("dot"); err == nil {
		magic := eval("pdf", `fetch(document.querySelector('#exports a.button[href*="format=pdf"]').href).then(async (r) => [r.status, r.headers.get('content-type'), new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5))])`).([]any)
		if fmt.Sprint(magic) != "[200 application/pdf %PDF-]" {
			t.Errorf("the PDF download: %v", magic)
		}
	}
	noBadPlural(mpRoot)
	shoot("model")

	// Without Graphviz on the server, the menu offers no picture and says why.
	drawable.Store(false)
	run("reload", chromedp.Reload())
	waitFor("page after reload", fmt.Sprintf(`document.title === %q && document.body.dataset.ready === 'true' && document.querySelector('#exports a.button')`, mpRoot+" — hflineage"))
	formats = eval("exports without Graphviz", `[...document.querySelectorAll('#exports a.button')].map((a) => a.textContent).join(' ')`)
	note := eval("exports note", `document.querySelector('#exports .body p').textContent`).(string)
	if formats != "DOT GRAPHML GEXF JSON CSV CSV-NODES" || !strings.Contains(note, "need Graphviz on the server, which is not installed") {
		t.Errorf("download menu without Graphviz: %v; %q", formats, note)
	}
	shoot("model-no-graphviz")
	drawable.Store(query.GraphvizInstalled())

	// One member without a creation date.
	open(mpAdapter)
	waitFor("growth", `document.querySelector('#growth .body p')`)
	if got := eval("undated", `document.querySelector('#growth .body').textContent`).(string); !strings.Contains(got, "1 member has no known creation date.") {
		t.Errorf("growth of %s says %q", mpAdapter, got)
	}
	noBadPlural(mpAdapter)

	// The ancestry, narrow: ids break at '/' or between ids, never inside a part.
	open(mpMerge)
	waitFor("ancestry", `document.querySelector('#ancestors .path li a')`)
	wrap := eval("wrap", `(async () => {
		document.querySelector('main').style.maxWidth = '660px';
		await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
		const li = document.querySelector('#ancestors .path li'), lines = (n) => { const r = document.createRange(); r.selectNodeContents(n);
			return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; };
		const split = [];
		for (const a of li.querySelectorAll('a')) {
			const walk = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
			for (let n = walk.nextNode(); n; n = walk.nextNode()) if (lines(n) > 1) split.push(n.textContent);
		}
		return { lines: lines(li), split: split.join(' | ') };
	})()`).(map[string]any)
	if wrap["lines"].(float64) < 2 || wrap["split"] != "" {
		t.Errorf("the ancestry over %v lines breaks inside %q", wrap["lines"], wrap["split"])
	}
	eval("width back", `document.querySelector('main').style.maxWidth = ''`)

	// A stub: known only as a parent, nothing else to tell.
	open(mpStub)
	waitFor("stub", `document.querySelector('#about p')`)
	if got := eval("stub", `[document.querySelector('#about p').textContent, document.querySelectorAll('#about [data-fact]').length]`).([]any); !strings.HasPrefix(got[0].(string), "Known only as a parent") || got[1] != float64(0) {
		t.Errorf("the stub's page says %v", got)
	}

	// A model the database does not hold: its page on the Hub, and a crawl.
	// Its two 404s (count, model) are the only console errors Chromium
	// logs: the page follows the crawl on the queue, not by asking again.
	before := len(console())
	open(mpLater)
	waitFor("not available", `document.querySelector('#crawl-missing')`)
	if got := eval("not available", `[document.querySelector('h1').textContent, document.querySelector('#hub-link').href]`).([]any); got[0] != "Not available" || got[1] != hub.URL+"/"+mpLater {
		t.Errorf("not available page: %v", got)
	}
	shoot("not-available")
	run("crawl it", chromedp.Click(chromedp.CSS("#crawl-missing")))
	waitFor("crawled", fmt.Sprintf(`location.hash === %q && document.querySelector('#about [data-fact="downloads"] dd') && document.querySelector('#about [data-fact="downloads"] dd').textContent === '7'`, "#/model/"+mpLater))

	all := console()
	for i, m := range all {
		if i >= before && i < before+2 && strings.Contains(m, "status of 404") {
			continue
		}
		t.Errorf("console: %s", m)
	}
}
