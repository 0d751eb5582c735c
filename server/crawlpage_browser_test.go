package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestCrawlPageStartsAndCancels: the explorer's crawl page starts crawls
// from its form (a model, the same one again — merged —, the whole Hub in
// full) and cancels them with its buttons, a queued one and a running
// one, sending the page's token as its POSTs do; the server's queue says
// the same, and no console error (a CSP violation is one) occurs.
func TestCrawlPageStartsAndCancels(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s, ts, hub := newTestServer(t, Config{})
	held, release := holdHub(hub, 0) // every crawl runs until canceled
	defer release()

	bctx := startChromium(t, ctx, bin, 1280, 900)
	console := consoleErrors(bctx)
	run := tab{t, bctx}.run
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.querySelector('`+sel+`') || {}).textContent || ''`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	said := func(want string) chromedp.Action[chromedp.Void] {
		return poll(`(document.querySelector('#crawl-said') || {}).textContent === ` + jsString(want))
	}
	submit := func(seed string, all, full bool) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => {
			const f = document.querySelector('#crawl-form');
			const all = f.querySelector('#crawl-all');
			if (all.checked !== ` + jsBool(all) + `) all.click();
			f.querySelector('#crawl-full').checked = ` + jsBool(full) + `;
			f.querySelector('#crawl-seed').value = ` + jsString(seed) + `;
			f.requestSubmit(); })()`)
	}
	click := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`document.querySelector('` + sel + `').click()`)
	}

	run("open the crawl page", chromedp.Navigate(ts.URL+"/#/crawl"), poll(`!!document.querySelector('#crawl-form')`))
	run("start a crawl", submit("a/ft", false, false), said("Queued as crawl #1."))
	<-held
	run("see it run", poll(`!!document.querySelector('#running [data-cancel="1"]')`))
	run("queue another", submit("b/lora", false, false), said("Queued as crawl #2."),
		poll(`!!document.querySelector('li [data-cancel="2"]')`))
	run("the same crawl again", submit("a/ft", false, false), said("The same crawl is already queued or running: crawl #1."))
	if st := s.crawls.Status(ctx, ""); st.Running == nil || st.Running.ID != 1 || len(st.Queue) != 1 || st.Queue[0].ID != 2 {
		t.Fatalf("the server's queue: %+v", st)
	}

	run("cancel the queued crawl", click(`li [data-cancel="2"]`), said("Crawl #2 left the queue."),
		poll(`!document.querySelector('li [data-cancel="2"]') && /canceled/.test((document.querySelector('#finished') || {}).textContent)`))
	run("cancel the running crawl", click(`#running [data-cancel="1"]`), said("Crawl #1 stops at its next commit; what it crawled is kept."),
		poll(`document.querySelector('#running h2').textContent === 'Nothing running'`))
	st := s.crawls.Status(ctx, "")
	if len(st.Finished) != 2 || !st.Finished[0].Canceled || st.Finished[0].ID != 1 || !st.Finished[1].Canceled || st.Finished[1].ID != 2 {
		t.Errorf("the server's finished crawls: %+v", st.Finished)
	}
	if got := text("#finished tbody"); strings.Count(got, "canceled") != 2 {
		t.Errorf("the page's finished crawls: %q", got)
	}

	// The whole Hub, full: the seed is not asked for; the request says all and full.
	run("start a full scan", submit("", true, true), said("Queued as crawl #3."), poll(`!!document.querySelector('#running [data-cancel="3"]')`))
	if st := s.crawls.Status(ctx, ""); st.Running == nil || st.Running.ID != 3 || !st.Running.All || !st.Running.Full || len(st.Running.Seeds) != 0 {
		t.Errorf("the scan the page asked for: %+v", st.Running)
	}
	if got := text("#running"); !strings.Contains(got, "the whole Hub") {
		t.Errorf("the running card: %q", got)
	}

	shot, err := chromedp.Run(bctx, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true),
			Clip: &page.Viewport{X: 0, Y: 0, Width: 1280, Height: 900, Scale: 1}})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "crawlpage.png")
	if *update {
		out = filepath.Join("testdata", "crawlpage.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)

	run("cancel the scan", click(`#running [data-cancel="3"]`), poll(`document.querySelector('#running h2').textContent === 'Nothing running'`))
	for _, m := range console() {
		t.Errorf("console: %s", m)
	}
}

func jsBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
