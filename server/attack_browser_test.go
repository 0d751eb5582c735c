package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// seen is a request that reached the server, and how it was answered.
type seen struct {
	method, path, origin, site string
	status                     int
}

// recording records every request h answers.
type recording struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recording) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sr := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sr, r)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"), sr.code})
		rec.mu.Unlock()
	})
}

func (rec *recording) all() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

// attackPage is another origin's page that tries what a page can do
// against a server on loopback without its consent: start a crawl with a
// POST that needs no preflight (text/plain, a form), with a JSON one
// (preflighted), read the explorer's page for its token, and make the
// server draw an export in an <img>. It puts what it saw in window.results.
const attackPage = `<!doctype html><meta charset="utf-8"><title>a page elsewhere</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="TARGET/api/v1/crawl" enctype="text/plain" target="sink">
<input name='{"seeds":["a/ft"],"x":"' value='"}'></form>
<script>
(async () => {
  const T = 'TARGET', results = {};
  const attempt = async (name, fn) => { try { results[name] = await fn(); } catch (e) { results[name] = 'error: ' + e.name; } };
  await attempt('text/plain POST', async () => (await fetch(T + '/api/v1/crawl', { method: 'POST', mode: 'no-cors',
    headers: { 'Content-Type': 'text/plain' }, body: '{"seeds":["a/ft"]}' })).type);
  await attempt('JSON POST', async () => (await fetch(T + '/api/v1/crawl', { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: '{"seeds":["a/ft"]}' })).status);
  await attempt('read the page', async () => (await (await fetch(T + '/')).text()).length);
  await attempt('read the stats', async () => (await (await fetch(T + '/api/v1/stats')).text()).length);
  await attempt('img of an export', () => new Promise((done) => { const img = new Image();
    img.onload = () => done('loaded'); img.onerror = () => done('failed'); img.src = T + '/api/v1/export?format=svg&model=a/ft'; }));
  await attempt('form POST', () => new Promise((done) => { const sink = document.querySelector('iframe');
    sink.onload = () => done('submitted'); document.getElementById('f').submit(); setTimeout(() => done('timeout'), 5000); }));
  window.results = results;
})();
</script>`

// TestCrossOriginAttack: a real page on another loopback origin tries the
// CSRF and reading attacks on the server in headless Chromium, and every
// attempt fails at the server (nothing is queued or drawn) or in the
// browser (nothing is read); the server's own page, in the same browser,
// starts a crawl with its token.
func TestCrossOriginAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium: install Debian's chromium to run the browser test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s, _, _ := newTestServer(t, Config{})
	var rec recording
	target := httptest.NewServer(rec.wrap(s.Handler()))
	defer target.Close()
	// The attacker: another port, and another name (localhost, not
	// 127.0.0.1), so another origin and another site.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, strings.ReplaceAll(attackPage, "TARGET", target.URL))
	}))
	defer attacker.Close()
	attackerURL := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)

	bctx := startChromium(t, ctx, bin, 1280, 800)
	tab := tab{t, bctx}
	run, waitFor, eval := tab.run, tab.waitFor, tab.eval

	// The attack.
	run("open the page elsewhere", chromedp.Navigate(attackerURL+"/"))
	waitFor("the attack", `window.results`)
	results := eval("results", `window.results`).(map[string]any)
	// The text/plain POST is sent (its answer unreadable: opaque, or an
	// error as the answer's Cross-Origin-Resource-Policy forbids it): the
	// server must have refused it, which the recording below checks.
	if got := fmt.Sprint(results["text/plain POST"]); got != "opaque" && got != "error: TypeError" {
		t.Errorf("text/plain POST: %s", got)
	}
	for name, want := range map[string]string{
		"JSON POST":        "error: TypeError",
		"read the page":    "error: TypeError",
		"read the stats":   "error: TypeError",
		"img of an export": "failed",
	} {
		if got := fmt.Sprint(results[name]); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	reached := map[string]int{}
	for _, r := range rec.all() {
		reached[r.method+" "+r.path]++
		if r.status < 400 {
			t.Errorf("the attacker's %s %s (Origin %q, Sec-Fetch-Site %q) was answered %d", r.method, r.path, r.origin, r.site, r.status)
		}
	}
	// Each attempt reached the server and was refused there: the two
	// simple POSTs (fetch, form), the JSON POST's preflight, the reads, the
	// picture.
	for req, n := range map[string]int{"POST /api/v1/crawl": 2, "OPTIONS /api/v1/crawl": 1, "GET /": 1, "GET /api/v1/stats": 1, "GET /api/v1/export": 1} {
		if reached[req] != n {
			t.Errorf("%s reached the server %d times, want %d (all: %+v)", req, reached[req], n, rec.all())
		}
	}
	if st := s.crawls.Status(ctx, ""); len(st.Queue) > 0 || st.Running != nil || len(st.Finished) > 0 {
		t.Fatalf("the attack queued a crawl: %+v", st)
	}

	// The server's own page, in the same browser: no test hook, and its
	// crawl form queues a crawl with the page's token.
	run("open the explorer", chromedp.Navigate(target.URL+"/#/crawl"))
	waitFor("crawl page", `document.body.dataset.ready === 'true' && document.querySelector('#crawl-form')`)
	if got := eval("hook", `typeof window.__hfl`); got != "undefined" {
		t.Errorf("the page has window.__hfl (%v)", got)
	}
	run("queue a crawl", chromedp.SendKeys(chromedp.CSS("#crawl-seed"), "a/ft"), chromedp.Click(chromedp.CSS(`#crawl-form button[type=submit]`)))
	waitFor("queued", `/Queued as crawl #1\./.test(document.querySelector('#crawl-said').textContent)`)
	waitIdle(t, target.URL)
	if st := s.crawls.Status(ctx, ""); len(st.Finished) != 1 || !st.Finished[0].Complete {
		t.Errorf("the page's crawl: %+v", st.Finished)
	}
}
