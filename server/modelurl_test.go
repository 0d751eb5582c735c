package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestModelURLParam: ?model= and ?root= take a model's Hub URL as the CLI
// does (on the Hub's hosts and the crawled Hub's); one that names no
// model is a 400 saying what it names.
func TestModelURLParam(t *testing.T) {
	_, ts, hub := newTestServer(t, Config{})
	tests := []struct {
		path   string
		status int
		has    string
	}{
		{"/api/v1/count?model=" + url.QueryEscape("https://huggingface.co/"+root+"/tree/main"), http.StatusOK, `"model":"` + root + `"`},
		{"/api/v1/count?model=" + url.QueryEscape("hf.co/a/ft?x=1"), http.StatusOK, `"model":"a/ft"`},
		{"/api/v1/count?model=" + url.QueryEscape(hub.URL+"/a/ft/"), http.StatusOK, `"model":"a/ft"`},
		{"/api/v1/count?model=" + url.QueryEscape("https://huggingface.co/a/ft,hf.co/b/lora"), http.StatusOK, `"matched":2`},
		{"/api/v1/ancestors?model=" + url.QueryEscape("https://huggingface.co/c/gguf"), http.StatusOK, `a/ft`},
		{"/api/v1/stats?root=" + url.QueryEscape("https://huggingface.co/a/ft"), http.StatusOK, `"a/ft"`},
		{"/api/v1/export?format=csv&model=" + url.QueryEscape("https://hf.co/a/ft"), http.StatusOK, "a/ft,quantized,c/gguf"},
		{"/api/v1/count?model=" + url.QueryEscape("https://huggingface.co/datasets/a/b"), http.StatusBadRequest, "a dataset's URL, not a model's"},
		{"/api/v1/count?model=" + url.QueryEscape("https://huggingface.co/meta-llama"), http.StatusNotFound, "not in the database"}, // a single-name model's URL
		{"/api/v1/count?model=" + url.QueryEscape("https://u:hf_SECRET@huggingface.co/datasets/a/b?t=hf_SECRET"), http.StatusBadRequest, `\"https://huggingface.co/datasets/a/b\": a dataset's URL`},
		{"/api/v1/count?model=" + url.QueryEscape("https://huggingface.co/hf.co/a"), http.StatusBadRequest, "begins with the Hub's host hf.co"},
		{"/api/v1/count?model=" + url.QueryEscape("https://example.com/a/b"), http.StatusBadRequest, "example.com is not the Hub"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+tt.path)
			if status != tt.status || !strings.Contains(body, tt.has) {
				t.Errorf("%d %s; want %d with %q", status, body, tt.status, tt.has)
			}
			if strings.Contains(body, "SECRET") {
				t.Errorf("body quotes a secret: %s", body)
			}
			if status >= 400 {
				var e struct{ Error string }
				if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
					t.Errorf("not a JSON error: %s", body)
				}
			}
		})
	}
}

// TestModelURLParamQuery: only the parameters given are rewritten:
// ?model=URL adds no empty root= (and ?root=URL no model=).
func TestModelURLParamQuery(t *testing.T) {
	s, _, _ := newTestServer(t, Config{})
	for in, want := range map[string]url.Values{
		"model=" + url.QueryEscape("https://hf.co/a/ft"):                    {"model": {"a/ft"}},
		"root=" + url.QueryEscape("hf.co/a/ft"):                             {"root": {"a/ft"}},
		"model=x/y&root=" + url.QueryEscape("https://huggingface.co/a/ft"):  {"model": {"x/y"}, "root": {"a/ft"}},
		"model=" + url.QueryEscape("hf.co/a/ft,b/c") + "&root=" + "d/e&n=1": {"model": {"a/ft,b/c"}, "root": {"d/e"}, "n": {"1"}},
	} {
		var got url.Values
		h := s.modelURLs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.URL.Query() }))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/count?"+in, nil))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("?%s: handler saw %v, want %v", in, got, want)
		}
	}
}
