package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/server"
)

// engine is what the read commands ask: the query engine over the
// database, or, while `hflineage serve` holds the database, the server.
type engine interface {
	Count(ctx context.Context, name string) (query.Count, error)
	Ancestors(ctx context.Context, name string) (query.Ancestry, error)
	Stats(ctx context.Context, o query.StatsOptions) (graph.Stats, error)
	History(ctx context.Context, name string) (query.History, error)
	Diff(ctx context.Context, o query.DiffOptions) (query.Diff, error)
	Plan(ctx context.Context, s query.Selection) (*query.Incomplete, error)
	Write(ctx context.Context, s query.Selection, w io.Writer) (query.Export, error)
	CountEcosystem(ctx context.Context, spec string) (query.EcosystemCount, error)
	Compare(ctx context.Context, o query.CompareOptions) (query.Comparison, error)
	HistoryOfEcosystem(ctx context.Context, spec string) (query.EcosystemHistory, error)
	DiffEcosystem(ctx context.Context, o query.DiffOptions) (query.Diff, error)
	Changes(ctx context.Context, o query.ChangesOptions) (query.Changes, error)
	RunPage(ctx context.Context, before uint64, limit int) ([]query.Run, uint64, error)
	Children(ctx context.Context, name string, o query.ChildrenOptions) (query.Children, error)
	Search(ctx context.Context, q string, limit int) (query.Hits, error)
	Tree(ctx context.Context, name string, o graph.TreeOptions) (query.Tree, error)
}

// openEngine opens an existing database read-only and returns the query
// engine over it, and the function that closes it. When another process
// holds the database (serve, or a crawl or schedule: it names its address
// in the directory and answers), the engine asks that process instead;
// when none answers, the error names the process (inUse).
func openEngine(ctx context.Context, db string) (engine, func(), error) {
	deadline := time.Now().Add(holderWait)
	for {
		// Read-only, under Badger's shared lock: any number of read
		// commands run at once (beside a crawl, through it).
		e, err := query.OpenDB(ctx, db, query.OpenOptions{ReadOnly: true})
		if errors.Is(err, query.ErrInUse) {
			if r, ok := findServer(db); ok {
				return r, func() {}, nil
			}
			// A crawl that has not started answering yet, or has stopped
			// and closes the database (a second or two): wait for either,
			// a while, rather than refuse.
			if holderPID(db) > 0 && time.Now().Before(deadline) {
				if testHookHolderWait != nil {
					testHookHolderWait()
				}
				select {
				case <-time.After(100 * time.Millisecond):
					continue
				case <-ctx.Done():
					return nil, nil, ctx.Err()
				}
			}
		}
		if err != nil {
			return nil, nil, inUse(db, err, false)
		}
		return e, func() { e.Close() }, nil
	}
}

// holderWait is how long a read waits for a process that holds the
// database and answers no reads (yet) before it says so.
var holderWait = 5 * time.Second

// testHookHolderWait, set by a test, runs each time a read waits.
var testHookHolderWait func()

// findServer returns the server named in the database directory, if it
// answers; a stale file (a server that died, or whose port another
// process's server took since: it is not the process that holds the
// database) is ignored. The server is serve's, or the read-only one of a
// crawl (remote.readOnly).
func findServer(db string) (*remote, bool) {
	b, err := os.ReadFile(filepath.Join(db, serveAddrFile))
	if err != nil {
		return nil, false
	}
	r := &remote{base: "http://" + strings.TrimSpace(string(b)), client: &http.Client{Timeout: 10 * time.Minute},
		tokenFile: filepath.Join(db, serveTokenFile)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	challenge := rand.Text()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.base+"/healthz?challenge="+challenge, nil)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var health struct {
		ReadOnly bool   `json:"read_only"`
		PID      int    `json:"pid"`
		Proof    string `json:"proof"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&health)
	// Only the process holding the database: a server that does not say
	// its pid (another program on a port a dead server's file names) is
	// not asked, nor one whose pid is not the holder's.
	if holder := holderPID(db); health.PID == 0 || holder == 0 || health.PID != holder {
		return nil, false
	}
	// When this user can read the server's session token, the server must
	// prove it holds it: a pid can be copied from the lock file.
	if tok, err := os.ReadFile(r.tokenFile); err == nil && len(bytes.TrimSpace(tok)) > 0 &&
		!hmac.Equal([]byte(health.Proof), []byte(server.HealthProof(string(bytes.TrimSpace(tok)), challenge))) {
		return nil, false
	}
	r.readOnly, r.pid = health.ReadOnly, health.PID
	return r, resp.StatusCode == http.StatusOK
}

// remote asks a running server over its HTTP API.
type remote struct {
	base   string
	client *http.Client
	token  string // for POSTs
	// tokenFile holds the server's session token (serveTokenFile),
	// readable by the server's user only.
	tokenFile string
	// readOnly: the server is a crawl's, which answers reads only.
	readOnly bool
	// pid is the server's process, the one holding the database
	// (findServer checked it).
	pid int
}

// postToken is the token the CLI's POSTs carry: the server's session
// token from its file, when this user can read it, else
// $HFLINEAGE_SERVE_TOKEN ("" when neither: the server then refuses,
// saying so).
func (r *remote) postToken() string {
	if r.tokenFile != "" {
		if b, err := os.ReadFile(r.tokenFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b))
		}
	}
	return os.Getenv("HFLINEAGE_SERVE_TOKEN")
}

// remoteError is an error answer; 400s are invalid questions.
type remoteError struct {
	status int
	msg    string
}

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) Is(target error) bool { return e.status == 400 && target == query.ErrInvalid }

func (r *remote) do(ctx context.Context, method, path string, params url.Values, body io.Reader) (*http.Response, error) {
	u := r.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("the server holding the database (%s): %w", r.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e struct{ Error string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("the server holding the database answered %s", resp.Status)
		}
		return nil, &remoteError{resp.StatusCode, e.Error}
	}
	return resp, nil
}

func (r *remote) get(ctx context.Context, path string, params url.Values, v any) error {
	resp, err := r.do(ctx, "GET", path, params, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("the server's answer to %s: %w", path, err)
	}
	return nil
}

func (r *remote) Count(ctx context.Context, name string) (query.Count, error) {
	var c query.Count
	err := r.get(ctx, "/api/v1/count", url.Values{"model": {name}}, &c)
	return c, err
}

func (r *remote) Ancestors(ctx context.Context, name string) (query.Ancestry, error) {
	var a query.Ancestry
	err := r.get(ctx, "/api/v1/ancestors", url.Values{"model": {name}}, &a)
	return a, err
}

func (r *remote) Stats(ctx context.Context, o query.StatsOptions) (graph.Stats, error) {
	var s graph.Stats
	p := url.Values{"top": {strconv.Itoa(o.Top)}}
	if o.Root != "" {
		p.Set("root", o.Root)
	}
	err := r.get(ctx, "/api/v1/stats", p, &s)
	return s, err
}

func (r *remote) History(ctx context.Context, name string) (query.History, error) {
	var h query.History
	err := r.get(ctx, "/api/v1/history", url.Values{"model": {name}}, &h)
	return h, err
}

func (r *remote) Diff(ctx context.Context, o query.DiffOptions) (query.Diff, error) {
	var d query.Diff
	p := url.Values{}
	if o.Run > 0 {
		p.Set("run", strconv.FormatUint(o.Run, 10))
	}
	if o.Model != "" {
		p.Set("model", o.Model)
	}
	err := r.get(ctx, "/api/v1/diff", p, &d)
	return d, err
}

// DiffEcosystem asks GET /api/v1/diff of a pattern.
func (r *remote) DiffEcosystem(ctx context.Context, o query.DiffOptions) (query.Diff, error) {
	return r.Diff(ctx, o)
}

// Changes asks GET /api/v1/changes.
func (r *remote) Changes(ctx context.Context, o query.ChangesOptions) (query.Changes, error) {
	var c query.Changes
	p := url.Values{"model": {o.Model}}
	if o.Since != "" {
		p.Set("since", o.Since)
	}
	if o.Runs > 0 {
		p.Set("runs", strconv.Itoa(o.Runs))
	}
	if o.IDs > 0 {
		p.Set("ids", strconv.Itoa(o.IDs))
	}
	err := r.get(ctx, "/api/v1/changes", p, &c)
	return c, err
}

// Plan checks the selection and asks the server whether the last crawl
// of what it exports completed, as the direct Plan says (for a family or
// the whole database). A server without that question (an older binary)
// is asked the family's count instead.
func (r *remote) Plan(ctx context.Context, s query.Selection) (*query.Incomplete, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	var plan struct{ Incomplete *query.Incomplete }
	err := r.get(ctx, "/api/v1/export/plan", exportParams(s), &plan)
	var re *remoteError
	if errors.As(err, &re) && re.status == http.StatusNotFound && strings.HasPrefix(re.msg, "no such API endpoint") {
		if s.Root == "" {
			return nil, nil
		}
		c, err := r.Count(ctx, s.Root)
		return c.Incomplete, err
	}
	return plan.Incomplete, err
}

// exportParams are the API's parameters for a selection: every field but
// BeforeLayout (Legend, and MaxNodes also without Root).
func exportParams(s query.Selection) url.Values {
	p := url.Values{"format": {s.Format}}
	if s.Root != "" {
		p.Set("model", s.Root)
		p.Set("depth", strconv.Itoa(s.Depth))
	}
	if s.MaxNodes > 0 {
		p.Set("max-nodes", strconv.Itoa(s.MaxNodes))
	}
	if s.Relations != nil {
		var rels []string
		for _, rel := range graph.Relations {
			if s.Relations[rel] {
				rels = append(rels, string(rel))
			}
		}
		p.Set("relation", strings.Join(rels, ","))
	}
	if s.Cluster != "" {
		p.Set("cluster", s.Cluster)
	}
	if s.Legend {
		p.Set("legend", "true")
	}
	return p
}

// Write asks the server for the export, so that the output is byte for
// byte the direct export's. The server lays pictures out: BeforeLayout is
// told the size and engine it answers with, once the picture is drawn.
func (r *remote) Write(ctx context.Context, s query.Selection, w io.Writer) (query.Export, error) {
	resp, err := r.do(ctx, "GET", "/api/v1/export", exportParams(s), nil)
	if err != nil {
		return query.Export{}, err
	}
	defer resp.Body.Close()
	x := query.Export{Layout: resp.Header.Get("X-Hflineage-Layout")}
	x.Nodes, _ = strconv.Atoi(resp.Header.Get("X-Hflineage-Nodes"))
	if x.Layout != "" && s.BeforeLayout != nil {
		s.BeforeLayout(x.Nodes, x.Layout)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return x, ctx.Err()
		}
		return x, fmt.Errorf("export from the server: %w", err)
	}
	return x, nil
}

// unreachableError is a crawl's query.ErrUnreachable as the server said it.
type unreachableError struct{ msg string }

func (e *unreachableError) Error() string { return e.msg }
func (e *unreachableError) Unwrap() error { return query.ErrUnreachable }

// crawlElsewhereError: the database is held by a crawl of another
// process, which takes no crawl; nothing was asked of any Hub.
type crawlElsewhereError struct{ msg string }

func (e *crawlElsewhereError) Error() string { return e.msg }

// crawlViaServer asks the server holding the database to run the crawl,
// follows its progress and returns its outcome when it ends. The server
// crawls with its own Hub settings: --endpoint, --parallel, --rate,
// --delay and --stall-timeout are refused rather than silently ignored.
func crawlViaServer(ctx context.Context, r *remote, f *crawlFlags, seeds []string, stderr io.Writer) (query.CrawlStats, error) {
	var stats query.CrawlStats
	if r.readOnly {
		return stats, &crawlElsewhereError{fmt.Sprintf("crawl: a crawl is running in process %d, which holds database %s (and answers reads at %s); wait for it to end, or crawl through `hflineage serve`", r.pid, f.db, r.base)}
	}
	if f.endpoint != "" || f.parallel != 4 || f.rate != "" || f.delay != 0 || (f.stall != 0 && f.stall != query.DefaultStallTimeout) {
		return stats, usagef("crawl: hflineage serve at %s holds the database and crawls with its own --endpoint, --parallel, --rate, --delay and --stall-timeout; drop them, or stop the server", r.base)
	}
	if f.reads != "auto" && f.reads != "" {
		return stats, usagef("crawl: hflineage serve at %s holds the database and answers the reads itself; drop --reads, or stop the server", r.base)
	}
	body := map[string]any{"all": f.all, "full": f.full, "mode": f.mode, "depth": f.depth, "restart": f.restart, "snapshot_min": f.minSnap}
	if !f.all {
		body["seeds"] = seeds
	}
	if f.fullEvery > 0 && f.scans() {
		body["full_every"] = f.fullEvery // schedule's: the server decides at the crawl's turn
	}
	b, _ := json.Marshal(body)
	r.token = r.postToken()
	resp, err := r.do(ctx, "POST", "/api/v1/crawl", nil, strings.NewReader(string(b)))
	if err != nil {
		return stats, fmt.Errorf("crawl: hflineage serve at %s holds the database and refused the crawl: %w", r.base, err)
	}
	var queued struct {
		Queued int
		Merged bool // the same crawl was queued or running: this is its id
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&queued)
	resp.Body.Close()
	if err == nil && queued.Queued <= 0 {
		err = errors.New(`no crawl id in it (want {"queued":N})`)
	}
	if err != nil {
		// Following crawl 0 would wait forever for a crawl no one runs.
		return stats, fmt.Errorf("crawl: hflineage serve at %s: its answer to the crawl cannot be read, so the crawl cannot be followed (it may run: see GET /api/v1/crawl): %w", r.base, err)
	}
	if queued.Merged {
		fmt.Fprintf(stderr, "crawl: hflineage serve at %s holds the database; the same crawl (%d) is queued or running there already: following it\n", r.base, queued.Queued)
	} else {
		fmt.Fprintf(stderr, "crawl: hflineage serve at %s holds the database; it queued this crawl (%d) and runs it\n", r.base, queued.Queued)
	}
	return followCrawl(ctx, r, queued.Queued, crawlCommand(f.db), stderr)
}

// followCrawl follows crawl id of the server, drawing its progress, and
// returns its outcome when it ends, as the direct crawl would. Ctrl-C
// (the end of ctx) stops following, not the crawl: the error is then
// errDetached, and the line on stderr says how to follow or cancel it
// with cmd ("hflineage crawl" and its --db).
// errNotFollowed: the crawl to follow is not the server's (any more):
// there is nothing to summarise.
var errNotFollowed = errors.New("nothing to follow")

func followCrawl(ctx context.Context, r *remote, id int, cmd string, stderr io.Writer) (query.CrawlStats, error) {
	var stats query.CrawlStats
	bar := newProgress(stderr)
	defer bar.finish()
	start := time.Now()
	for {
		var st server.Status
		if err := r.get(ctx, "/api/v1/crawl", nil, &st); err != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("lost the server while following crawl %d (it resumes when the server starts again): %w", id, err)
			}
			return stats, err
		}
		if p := st.Running; p != nil && p.ID == id {
			stats.Models, stats.Edges, stats.Pages, stats.Requests, stats.TooMany = p.Models, p.Edges, p.Pages, p.Requests, p.Throttled
			stats.Pace.Remaining, stats.Pace.Quota = p.QuotaRemaining, p.Quota
			stats.Elapsed = time.Since(start)
			bar.update(stats)
		}
		for _, o := range st.Finished {
			if o.ID != id {
				continue
			}
			stats.Models, stats.Edges, stats.Pages, stats.Requests = o.Models, o.Edges, o.Pages, o.Requests
			stats.Elapsed = time.Since(start)
			if o.Run != 0 {
				var runs struct{ Runs []query.Run }
				page := url.Values{"before": {strconv.FormatUint(o.Run+1, 10)}, "limit": {"1"}} // that run alone
				if r.get(ctx, "/api/v1/runs", page, &runs) == nil {
					for _, run := range runs.Runs {
						if run.ID == o.Run {
							query.SetRun(&stats, run)
						}
					}
				}
			}
			if why, ok := strings.CutPrefix(o.Error, query.ErrNothingCrawled.Error()+": "); ok {
				// No seed on the Hub: the direct crawl's error, exit code and summary.
				return stats, fmt.Errorf("%w: %w", query.ErrNothingCrawled, &query.SeedError{Errs: map[string]error{"": errors.New(why)}})
			}
			switch {
			case strings.HasPrefix(o.Error, "cannot reach "):
				// The server never reached the Hub: the direct crawl's line.
				return stats, &unreachableError{o.Error}
			case o.Error != "":
				return stats, fmt.Errorf("crawl %d on the server: %s", o.ID, o.Error)
			case o.Skipped != "":
				return stats, &query.SeedError{Errs: map[string]error{"": errors.New(o.Skipped)}}
			}
			return stats, nil
		}
		known := st.Running != nil && st.Running.ID == id
		for _, q := range st.Queue {
			known = known || q.ID == id
		}
		if !known { // ended long ago, or never given: nothing to follow
			return stats, fmt.Errorf("%w: crawl %d is neither queued nor running on hflineage serve at %s, nor among the last crawls it finished (GET /api/v1/crawl)", errNotFollowed, id, r.base)
		}
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			// Ctrl-C stops following, not the server's crawl.
			bar.println(fmt.Sprintf("crawl: no longer following crawl %d; the server goes on with it (follow it again: %s --follow %d; cancel it: %s --cancel %d)",
				id, cmd, id, cmd, id))
			return stats, fmt.Errorf("%w: %w", ctx.Err(), errDetached)
		}
	}
}

func (r *remote) CountEcosystem(ctx context.Context, spec string) (query.EcosystemCount, error) {
	var c query.EcosystemCount
	err := r.get(ctx, "/api/v1/count", url.Values{"model": {spec}}, &c)
	return c, err
}

func (r *remote) Compare(ctx context.Context, o query.CompareOptions) (query.Comparison, error) {
	var c query.Comparison
	p := url.Values{"ecosystem": o.Ecosystems}
	if o.Top > 0 {
		p.Set("top", strconv.Itoa(o.Top))
	}
	if o.Examples > 0 {
		p.Set("examples", strconv.Itoa(o.Examples))
	}
	err := r.get(ctx, "/api/v1/compare", p, &c)
	return c, err
}

func (r *remote) HistoryOfEcosystem(ctx context.Context, spec string) (query.EcosystemHistory, error) {
	var h query.EcosystemHistory
	err := r.get(ctx, "/api/v1/history", url.Values{"model": {spec}}, &h)
	return h, err
}
