package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/query"
)

// TestReadOnly: a read-only server (the one a crawl runs beside itself)
// answers reads as serve does, says so at /healthz, and takes no crawl:
// a POST with its own token is 409 naming the process, nothing is queued,
// and Crawl fails with ErrReadOnly. serve's server is unchanged.
func TestReadOnly(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("read-only=", readOnly), func(t *testing.T) {
			s, ts, _ := newTestServer(t, Config{ReadOnly: readOnly})
			if code, body, _ := get(t, ts.URL+"/api/v1/count?model="+root); code != http.StatusOK || !strings.Contains(body, `"model":"`+root+`"`) {
				t.Errorf("count: %d %s", code, body)
			}
			_, body, _ := get(t, ts.URL+"/healthz")
			var health map[string]any
			if err := json.Unmarshal([]byte(body), &health); err != nil || health["status"] != "ok" {
				t.Fatalf("healthz: %v %s", err, body)
			}
			if _, said := health["read_only"]; said != readOnly || readOnly && health["read_only"] != true {
				t.Errorf("healthz: %s; want read_only %v", body, readOnly)
			}
			if !readOnly {
				return
			}
			code, body := post(t, ts.URL+"/api/v1/crawl", s.SessionToken(), `{"seeds":["a/ft"]}`)
			if want := fmt.Sprintf("a crawl is running in process %d", os.Getpid()); code != http.StatusConflict || !strings.Contains(body, want) {
				t.Errorf("POST /api/v1/crawl: %d %s; want 409 with %q", code, body, want)
			}
			if code, _ := post(t, ts.URL+"/api/v1/crawl", "", `{"seeds":["a/ft"]}`); code != http.StatusUnauthorized {
				t.Errorf("POST /api/v1/crawl without a token: %d; want 401 first", code)
			}
			if _, err := s.Crawl(CrawlRequest{Seeds: []string{"a/ft"}}, false); !errors.Is(err, ErrReadOnly) {
				t.Errorf("Crawl: %v; want ErrReadOnly", err)
			}
			_, body, _ = get(t, ts.URL+"/api/v1/crawl")
			var st Status
			if err := json.Unmarshal([]byte(body), &st); err != nil || st.Running != nil || len(st.Queue) != 0 || len(st.Finished) != 0 {
				t.Errorf("GET /api/v1/crawl after refused crawls: %v %s; want nothing running, queued or finished", err, body)
			}
		})
	}
}

// TestReadOnlyRefusesWebhooks: a read-only server runs no crawl, so it
// would never send a webhook; New says so rather than ignoring them.
func TestReadOnlyRefusesWebhooks(t *testing.T) {
	_, err := New(t.Context(), Config{Engine: &query.Engine{}, ReadOnly: true,
		Webhooks: Webhooks{URLs: []string{"http://127.0.0.1:1/hook"}, Watch: []string{root}, Secret: "s"}})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("New: %v; want a read-only server's refusal of webhooks", err)
	}
}
