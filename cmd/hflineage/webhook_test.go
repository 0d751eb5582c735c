package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeWebhookFlags: a webhook that is not http(s) with a host, one
// without a secret and one with nothing to watch are usage errors, each
// said in one line, before the database is opened.
func TestServeWebhookFlags(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		args         []string
		has          string
	}{
		{"not http", "s3cret", []string{"--webhook", "ftp://chat.example/hook", "--watch", "a/b"}, `--webhook "ftp://chat.example/hook": want an http:// or https:// URL with a host`},
		{"no host", "s3cret", []string{"--webhook", "https:///hook", "--watch", "a/b"}, "want an http:// or https:// URL with a host"},
		{"no secret", "", []string{"--webhook", "https://chat.example/hook", "--watch", "a/b"}, "--webhook needs a secret to sign with: set $HFLINEAGE_WEBHOOK_SECRET"},
		{"a blank secret flag", "s3cret", []string{"--webhook", "https://chat.example/hook", "--watch", "a/b", "--webhook-secret", " "}, "--webhook needs a secret"},
		{"nothing watched", "s3cret", []string{"--webhook", "https://chat.example/hook"}, "--webhook needs something to watch: add --watch"},
		{"a scan watches nothing", "s3cret", []string{"--webhook", "https://chat.example/hook", "--every", "1h", "--all"}, "add --watch"},
		{"an invalid watch", "s3cret", []string{"--webhook", "https://chat.example/hook", "--watch", "a b/c"}, `--watch "a b/c": `},
		{"watch without webhook", "s3cret", []string{"--watch", "a/b"}, "--watch goes with --webhook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HFLINEAGE_WEBHOOK_SECRET", tc.secret)
			db := filepath.Join(t.TempDir(), "db")
			code, _, stderr := cli(t, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, tc.args...)...)
			first, _, _ := strings.Cut(stderr, "\n")
			if code != exitUsage || !strings.Contains(first, tc.has) {
				t.Errorf("exit %d: %s; want %d with %q in its first line", code, stderr, exitUsage, tc.has)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created: %v", err)
			}
		})
	}
	_, stdout, _ := cli(t, "serve", "--help")
	for _, want := range []string{"--webhook", "--watch", "$HFLINEAGE_WEBHOOK_SECRET", "flags show in ps"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("serve --help does not say %q", want)
		}
	}
}
