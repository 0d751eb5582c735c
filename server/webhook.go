package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// Webhooks are the targets told, after each completed crawl, what the
// crawl's run added to each watched family and removed from it.
type Webhooks struct {
	// URLs are the targets (http or https, with a host); each message
	// goes to every one.
	URLs []string
	// Watch are the models and ecosystem patterns watched (at least one
	// when there are URLs).
	Watch []string
	// Secret signs every message (X-Hflineage-Signature-256); required
	// when there are URLs.
	Secret string
	// Backoff is the wait before the first retry, doubled for each next
	// one up to 30 s (default 1 s); Timeout bounds each attempt (default
	// 10 s). Tests shorten them.
	Backoff, Timeout time.Duration
}

// Webhook delivery bounds.
const (
	webhookAttempts = 5  // attempts per delivery
	webhookQueue    = 64 // deliveries waiting to be sent; more are dropped
	webhookKept     = 20 // deliveries GET /api/v1/crawl lists
	webhookMaxWait  = 30 * time.Second
)

// CheckWebhook validates a webhook target: an http or https URL with a host.
func CheckWebhook(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("webhook %q: want an http:// or https:// URL with a host", target)
	}
	return nil
}

// CheckWatch validates a watched spec: a model id, or an ecosystem (a
// pattern such as "meta-llama/*", or a comma list).
func CheckWatch(spec string) error {
	var err error
	if query.IsEcosystem(spec) {
		_, err = graph.ParseEcosystem(spec)
	} else if _, err = graph.ParseModelID(spec); err != nil {
		if _, listed := graph.ParseListedID(spec); listed == nil {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("watch %q: %w", spec, err)
	}
	return nil
}

// WebhookMessage is the JSON body of a webhook: what one run added to a
// watched family and removed from it, in GET /api/v1/changes' shapes.
type WebhookMessage struct {
	Spec     string                `json:"spec"`
	Run      uint64                `json:"run"`
	Finished string                `json:"finished"`
	Added    []query.ChangedMember `json:"added"`
	Removed  []query.ChangedMember `json:"removed"`
	Counts   WebhookCounts         `json:"counts"`
}

// WebhookCounts are a message's whole counts (the lists hold at most
// query.MaxChangeIDs each: Truncated says they are shorter).
type WebhookCounts struct {
	Added     int  `json:"added"`
	Removed   int  `json:"removed"`
	Members   int  `json:"members"` // the family's members after the run
	Truncated bool `json:"truncated"`
}

// WebhookDelivery is one delivery's outcome, as GET /api/v1/crawl lists it.
type WebhookDelivery struct {
	Time     time.Time `json:"time"`
	Spec     string    `json:"spec"`
	Run      uint64    `json:"run"`
	Host     string    `json:"host"`             // the target's host only: its path may hold a secret
	Outcome  string    `json:"outcome"`          // ok, failed (after the retries), dropped (the queue was full)
	Status   int       `json:"status,omitempty"` // the last answer's HTTP status
	Error    string    `json:"error,omitempty"`
	Attempts int       `json:"attempts"`
}

// delivery is one message to send to one target.
type delivery struct {
	target *url.URL
	spec   string
	run    uint64
	body   []byte
}

// webhooks sends the messages, from a goroutine the server owns.
type webhooks struct {
	s       *Server
	cfg     Webhooks
	targets []*url.URL
	client  *http.Client // its own: never the Hub's, never its token
	runs    chan query.Outcome
	queue   chan delivery
	total   *prometheus.CounterVec

	mu     sync.Mutex
	recent []WebhookDelivery // newest last
}

func newWebhooks(s *Server, cfg Webhooks) (*webhooks, error) {
	if len(cfg.URLs) == 0 {
		return nil, nil
	}
	if len(cfg.Watch) == 0 {
		return nil, errors.New("webhooks: nothing to watch")
	}
	if cfg.Secret == "" {
		return nil, errors.New("webhooks: no secret")
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	w := &webhooks{s: s, cfg: cfg, runs: make(chan query.Outcome, 16), queue: make(chan delivery, webhookQueue), recent: []WebhookDelivery{},
		client: &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// A redirect is the target's answer, not followed: a POST
			// would not survive it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	for _, t := range cfg.URLs {
		if err := CheckWebhook(t); err != nil {
			return nil, err
		}
		u, _ := url.Parse(t)
		w.targets = append(w.targets, u)
	}
	for _, spec := range cfg.Watch {
		if err := CheckWatch(spec); err != nil {
			return nil, err
		}
	}
	w.total = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hflineage_webhook_deliveries_total", Help: "Webhook deliveries, by outcome (ok, failed after the retries, dropped: the queue was full).",
	}, []string{"outcome"})
	for _, o := range []string{"ok", "failed", "dropped"} {
		w.total.WithLabelValues(o)
	}
	s.metrics.reg.MustRegister(w.total)
	return w, nil
}

// finished is the crawl queue's hook: it hands a completed crawl's run to
// the webhooks' goroutine and never waits.
func (w *webhooks) finished(o query.Outcome) {
	if !o.Complete || o.Run == 0 {
		return
	}
	select {
	case w.runs <- o:
	default:
		w.s.log.Error("webhooks: too many crawls waiting for their messages; this one's are dropped", "run", o.Run)
		w.record(WebhookDelivery{Time: time.Now().UTC(), Run: o.Run, Outcome: "dropped", Error: "too many crawls waiting"})
		w.total.WithLabelValues("dropped").Inc()
	}
}

// work runs until ctx ends: one goroutine makes each run's messages, one
// sends them (a target that hangs delays the next messages, never a
// crawl). Messages still queued when ctx ends are not sent.
func (w *webhooks) work(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-w.queue:
				w.deliver(ctx, d)
			}
		}
	})
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case o := <-w.runs:
			w.messages(ctx, o)
		}
	}
}

// messages queues, for each watched spec the run changed, its message to
// every target.
func (w *webhooks) messages(ctx context.Context, o query.Outcome) {
	for _, spec := range w.cfg.Watch {
		ch, err := w.s.q.Changes(ctx, query.ChangesOptions{Model: spec, Since: strconv.FormatUint(o.Run-1, 10),
			Runs: query.MaxChangeRuns, IDs: query.MaxChangeIDs})
		if err != nil {
			if ctx.Err() == nil {
				w.s.log.Warn("webhooks: the changes of a watched family", "spec", spec, "run", o.Run, "err", err)
			}
			continue
		}
		for _, r := range ch.Runs {
			if r.Run != o.Run || !r.Changed() {
				continue
			}
			body, err := json.Marshal(WebhookMessage{Spec: spec, Run: r.Run, Finished: r.When(), Added: r.Added, Removed: r.Removed,
				Counts: WebhookCounts{Added: r.AddedCount, Removed: r.RemovedCount, Members: r.Members, Truncated: r.Truncated}})
			if err != nil {
				continue
			}
			for _, t := range w.targets {
				d := delivery{target: t, spec: spec, run: r.Run, body: body}
				select {
				case w.queue <- d:
				default:
					w.s.log.Error("webhooks: the delivery queue is full; message dropped", "spec", spec, "run", r.Run, "host", t.Host)
					w.record(WebhookDelivery{Time: time.Now().UTC(), Spec: spec, Run: r.Run, Host: t.Host, Outcome: "dropped", Error: "the delivery queue is full"})
					w.total.WithLabelValues("dropped").Inc()
				}
			}
		}
	}
}

// Sign is a message's X-Hflineage-Signature-256: "sha256=" and the hex
// HMAC-SHA256 of the exact body with the secret (GitHub's recipe).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// deliver sends d, retrying network errors, timeouts, 429 and 5xx with a
// capped exponential backoff, at most webhookAttempts times.
func (w *webhooks) deliver(ctx context.Context, d delivery) {
	id := make([]byte, 16)
	rand.Read(id)
	rec := WebhookDelivery{Spec: d.spec, Run: d.run, Host: d.target.Host}
	wait := w.cfg.Backoff
	for rec.Attempts < webhookAttempts {
		rec.Attempts++
		retry := false
		rec.Status, rec.Error = w.attempt(ctx, d, hex.EncodeToString(id))
		switch {
		case ctx.Err() != nil:
			return // the server stops: not an outcome
		case rec.Error == "" && rec.Status < 300:
			rec.Outcome = "ok"
		case rec.Error != "" || rec.Status == http.StatusTooManyRequests || rec.Status >= 500:
			retry = true
		}
		if !retry || rec.Attempts == webhookAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, webhookMaxWait)
	}
	if rec.Outcome != "ok" {
		rec.Outcome = "failed"
		if rec.Error == "" {
			rec.Error = "HTTP " + strconv.Itoa(rec.Status)
		}
		w.s.log.Warn("webhook not delivered", "spec", d.spec, "run", d.run, "host", d.target.Host, "attempts", rec.Attempts, "err", rec.Error)
	}
	rec.Time = time.Now().UTC()
	w.record(rec)
	w.total.WithLabelValues(rec.Outcome).Inc()
}

// attempt posts d once: the answer's status, or an error.
func (w *webhooks) attempt(ctx context.Context, d delivery, id string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.target.String(), bytes.NewReader(d.body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hflineage/"+query.Version())
	req.Header.Set("X-Hflineage-Event", "changes")
	req.Header.Set("X-Hflineage-Delivery", id)
	req.Header.Set("X-Hflineage-Signature-256", Sign(w.cfg.Secret, d.body))
	resp, err := w.client.Do(req)
	if err != nil {
		// Without the URL: a target's path often holds its own secret
		// (chat tools' incoming webhooks), and deliveries are shown.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, oneLine(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, ""
}

func (w *webhooks) record(d WebhookDelivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recent = append(w.recent, d)
	if len(w.recent) > webhookKept {
		w.recent = w.recent[len(w.recent)-webhookKept:]
	}
}

// last returns the last deliveries, newest first.
func (w *webhooks) last() []WebhookDelivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]WebhookDelivery, len(w.recent))
	for i, d := range w.recent {
		out[len(out)-1-i] = d
	}
	return out
}
