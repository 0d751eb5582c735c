package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/server"
)

// TestFindServerWantsProof: the CLI asks the server a database directory
// names only when it is the holder's (pid) and, when this user can read
// the session token, proves it holds that token (an HMAC of a fresh
// challenge): a program on a port a dead server's serve.addr names can copy
// the pid from the lock file, not the proof.
func TestFindServerWantsProof(t *testing.T) {
	const token = "session-token-of-the-real-server"
	for _, tc := range []struct {
		name  string
		proof func(challenge string) string
		found bool
	}{
		{"the holder, with the proof", func(c string) string { return server.HealthProof(token, c) }, true},
		{"the pid copied, no proof", func(string) string { return "" }, false},
		{"another token's proof", func(c string) string { return server.HealthProof("another-token-entirely", c) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				json.NewEncoder(w).Encode(map[string]any{"status": "ok", "pid": os.Getpid(), "proof": tc.proof(r.URL.Query().Get("challenge"))})
			}))
			defer ts.Close()
			db := t.TempDir()
			for name, content := range map[string]string{
				badgerLock:     strconv.Itoa(os.Getpid()) + "\n",
				serveAddrFile:  strings.TrimPrefix(ts.URL, "http://") + "\n",
				serveTokenFile: token + "\n",
			} {
				if err := os.WriteFile(filepath.Join(db, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, found := findServer(db); found != tc.found {
				t.Errorf("found %v, want %v", found, tc.found)
			}
		})
	}
}
