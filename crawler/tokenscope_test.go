package crawler_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// TestLoginFileTokenStaysOffClearTextNetworks: the token `hf auth login`
// stored (read when no variable gives one) is sent to an https endpoint or
// to one on this machine, never over plain http to another host; a token
// the user exported goes to the endpoint whatever its scheme, as before.
func TestLoginFileTokenStaysOffClearTextNetworks(t *testing.T) {
	const fileToken = "hf_from_the_login_file"
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(fileToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_TOKEN_PATH", path)
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "")

	for _, tc := range []struct {
		name, endpoint, exported string
		want                     string // the Authorization the Hub saw
	}{
		{"file token, loopback http", "", "", "Bearer " + fileToken},
		{"file token, another host over http", "http://hub.example", "", ""},
		{"exported token, another host over http", "http://hub.example", "hf_exported", "Bearer hf_exported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HF_TOKEN", tc.exported)
			srv := hubtest.NewUnstartedServer(smallWorld())
			var mu sync.Mutex
			seen := map[string]bool{}
			srv.Fault = func(_ int, r *http.Request) hubtest.Fault {
				mu.Lock()
				seen[r.Header.Get("Authorization")] = true
				mu.Unlock()
				return hubtest.NoFault
			}
			srv.Start()
			defer srv.Close()
			endpoint := tc.endpoint
			if endpoint == "" {
				endpoint = srv.URL
			}
			addr := srv.Listener.Addr().String()
			cfg := crawler.Config{Endpoint: endpoint, Token: crawler.TokenFromEnv(),
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr) // hub.example is this test's Hub
				}}
			st := memStore(t)
			w := walker(t, cfg, st)
			if _, err := w.Walk(context.Background(), []graph.ModelID{"other/Base"}, crawler.Options{Depth: -1}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || !seen[tc.want] {
				t.Errorf("the Hub saw Authorization %v; want only %q", seen, tc.want)
			}
		})
	}
}
