package main

// The webhook part of the live table (issue 21): `serve` watches the
// largest family and posts, after each crawl, what the run added to it and
// removed from it to a receiver in this process, which checks each
// message's signature (X-Hflineage-Signature-256: sha256=HMAC-SHA256 of
// the body, the documented recipe), and notes when it came, its size and
// its counts.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// benchWebhookSecret signs the benchmark's webhooks (not a credential).
const benchWebhookSecret = "bench-webhook-secret-0123456789abcdef"

// hookMessage is a delivery as received.
type hookMessage struct {
	at       time.Time
	bytes    int
	signed   bool   // the signature verified
	Spec     string `json:"spec"`
	Run      uint64 `json:"run"`
	Finished string `json:"finished"` // the run's end as recorded
	Counts   struct {
		Added     int  `json:"added"`
		Removed   int  `json:"removed"`
		Members   int  `json:"members"`
		Truncated bool `json:"truncated"`
	} `json:"counts"`
}

// hookReceiver is the webhook target.
type hookReceiver struct {
	url  string
	mu   sync.Mutex
	got  []hookMessage
	cond *sync.Cond
	srv  *http.Server
}

func startHookReceiver() *hookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	h := &hookReceiver{url: "http://" + ln.Addr().String() + "/hook"}
	h.cond = sync.NewCond(&h.mu)
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serve), ReadHeaderTimeout: 10 * time.Second}
	go h.srv.Serve(ln)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := hookMessage{at: time.Now(), bytes: len(body)}
	mac := hmac.New(sha256.New, []byte(benchWebhookSecret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	m.signed = hmac.Equal([]byte(r.Header.Get("X-Hflineage-Signature-256")), []byte(want))
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.got = append(h.got, m)
	h.cond.Broadcast()
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// await returns the delivery for run, waiting up to d for it.
func (h *hookReceiver) await(run uint64, d time.Duration) (hookMessage, bool) {
	deadline := time.Now().Add(d)
	go func() { time.Sleep(d); h.mu.Lock(); h.cond.Broadcast(); h.mu.Unlock() }()
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		for _, m := range h.got {
			if m.Run == run {
				return m, true
			}
		}
		if time.Now().After(deadline) {
			return hookMessage{}, false
		}
		h.cond.Wait()
	}
}

func (h *hookReceiver) close() { h.srv.Close() }

// hookRow is the webhook line of a crawl phase: when the message came after
// the crawl ended, its size and counts, and whether they agree with the
// Hub (members = the family's descendants; added − removed = the change
// in members since the previous run).
func hookRow(h *hookReceiver, phase string, run uint64, ended time.Time, e hubExpect, membersBefore int) []string {
	if run == 0 {
		return []string{phase, "-", "no run recorded", "", "", "", "", ""}
	}
	m, ok := h.await(run, 2*time.Minute)
	if !ok {
		return []string{phase, fmt.Sprint(run), "NONE within 2 min", "", "", "", "", "NO"}
	}
	var bad []string
	if !m.signed {
		bad = append(bad, "signature did not verify")
	}
	if m.Counts.Members != e.Descendants.Total {
		bad = append(bad, fmt.Sprintf("members %d, the Hub's %d", m.Counts.Members, e.Descendants.Total))
	}
	if m.Counts.Added-m.Counts.Removed != m.Counts.Members-membersBefore {
		bad = append(bad, fmt.Sprintf("added − removed = %d, members moved by %d", m.Counts.Added-m.Counts.Removed, m.Counts.Members-membersBefore))
	}
	agree := "yes"
	if len(bad) > 0 {
		agree = "NO: " + strings.Join(bad, "; ")
	}
	after := "?"
	if fin, err := time.Parse(time.RFC3339Nano, m.Finished); err == nil {
		after = fmtMs(m.at.Sub(fin))
	}
	seen := "before"
	if m.at.After(ended) {
		seen = fmtMs(m.at.Sub(ended)) + " after"
	}
	return []string{phase, fmt.Sprint(run), after + " (" + seen + " GET /api/v1/crawl showed it ended)", fmt.Sprintf("%.1f KiB", float64(m.bytes)/1024),
		fmt.Sprintf("+%d / −%d", m.Counts.Added, m.Counts.Removed), fmt.Sprint(m.Counts.Members), fmt.Sprint(m.Counts.Truncated), agree}
}
