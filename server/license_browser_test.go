package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// TestLicensesExplorer: the model page colours the ancestry by licence
// class and shows what the family's edges do to the licence, as the engine
// answers, under the server's CSP (a violation is a console error).
func TestLicensesExplorer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// meta-llama/Llama-3.1-8B llama3.1 → a/chat llama3.1 → a/chat-gguf apache-2.0 (relaxed)
	//   a/chat-gguf → f/nc cc-by-nc-4.0 (tightened) → f/mit mit (relaxed); a/chat-gguf → e/mit mit (kept)
	world := hubtest.NewWorld()
	add := func(id, license string, dl int64, parent string) {
		tags := []string{"license:" + license}
		if parent != "" {
			tags = append(tags, hubtest.ParentTags(hubtest.Parent{ID: parent, Relation: "finetune"})...)
		}
		world.Add(hubtest.Model{ID: id, Downloads: dl, Tags: tags})
	}
	const page_ = "a/chat-gguf"
	add(root, "llama3.1", 1000, "")
	add("a/chat", "llama3.1", 500, root)
	add(page_, "apache-2.0", 300, "a/chat")
	add("f/nc", "cc-by-nc-4.0", 5, page_)
	add("f/mit", "mit", 40, "f/nc")
	add("e/mit", "mit", 15, page_)
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := hubtest.NewServer(world)
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
	console := consoleErrors(bctx)
	eval := tab{t, bctx}.eval

	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/#/model/"+page_),
		chromedp.Poll[chromedp.Void](`!!document.querySelector('#licenses [data-license-change="relaxed"]')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatal(err)
	}
	want, err := engine.Licenses(ctx, query.LicenseOptions{Model: page_, Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	got := eval("read the section", `(() => { const s = document.querySelector('#licenses');
		const counts = Object.fromEntries([...s.querySelectorAll('[data-license-change]')].map((e) => [e.dataset.licenseChange, e.textContent]));
		const chips = [...s.querySelectorAll('.lic-path .lic')].map((e) => e.className + ' ' + e.textContent);
		const changes = [...s.querySelectorAll('.lic-path .change')].map((e) => e.textContent);
		const offenders = [...s.querySelectorAll('.lic-offenders > li')].map((e) => e.querySelector('a').textContent);
		return { counts, chips, changes, offenders }; })()`).(map[string]any)
	c := want.Changes
	expect := map[string]any{
		"counts":    map[string]any{"kept": fmt.Sprint(c.Kept), "relaxed": fmt.Sprint(c.Relaxed), "tightened": fmt.Sprint(c.Tightened), "unknown": fmt.Sprint(c.Unknown)},
		"chips":     []any{"lic lic-community llama3.1", "lic lic-community llama3.1", "lic lic-permissive apache-2.0"}, // farthest first
		"changes":   []any{"relaxed"},                                                                                   // a/chat → a/chat-gguf
		"offenders": []any{"f/mit"},
	}
	if c != (query.LicenseChanges{Kept: 1, Relaxed: 1, Tightened: 1}) {
		t.Errorf("the engine's changes %+v", c)
	}
	for k, v := range expect {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s shown %v, want %v", k, got[k], v)
		}
	}

	shot, err := chromedp.Run(bctx, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true),
			Clip: &page.Viewport{X: 0, Y: 0, Width: 1280, Height: 720, Scale: 1}})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "licenses.png")
	if *update {
		out = filepath.Join("testdata", "licenses.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
	for _, m := range console() {
		t.Errorf("console: %s", m)
	}
}
