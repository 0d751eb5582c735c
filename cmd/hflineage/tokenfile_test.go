package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// The tests of this package crawl fake Hubs: a token the developer's own
// `hf auth login` saved is not theirs to send (tests that want a token set
// HF_TOKEN, or HF_TOKEN_PATH with t.Setenv).
func init() { os.Setenv("HF_TOKEN_PATH", os.DevNull) }

// TestTokenFile: the Hub token is $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN,
// else the file `hf auth login` writes — $HF_TOKEN_PATH, else
// $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else
// ~/.cache/huggingface/token — with its whitespace trimmed.
func TestTokenFile(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string // relative paths are under the test's directory
		files map[string]string // path under the test's directory → content
		want  string
	}{
		{"HF_TOKEN first", map[string]string{"HF_TOKEN": "hf_env", "HUGGING_FACE_HUB_TOKEN": "hf_old", "HF_TOKEN_PATH": "tok"},
			map[string]string{"tok": "hf_file"}, "hf_env"},
		{"then HUGGING_FACE_HUB_TOKEN", map[string]string{"HUGGING_FACE_HUB_TOKEN": "hf_old", "HF_TOKEN_PATH": "tok"},
			map[string]string{"tok": "hf_file"}, "hf_old"},
		{"then HF_TOKEN_PATH", map[string]string{"HF_TOKEN_PATH": "tok", "HF_HOME": "hfhome"},
			map[string]string{"tok": "  hf_path\n", "hfhome/token": "hf_home"}, "hf_path"},
		{"then HF_HOME", map[string]string{"HF_HOME": "hfhome", "XDG_CACHE_HOME": "cache"},
			map[string]string{"hfhome/token": "hf_home\r\n", "cache/huggingface/token": "hf_xdg"}, "hf_home"},
		{"then XDG_CACHE_HOME", map[string]string{"XDG_CACHE_HOME": "cache"},
			map[string]string{"cache/huggingface/token": "\thf_xdg\n", "home/.cache/huggingface/token": "hf_home"}, "hf_xdg"},
		{"then the home directory", nil,
			map[string]string{"home/.cache/huggingface/token": "hf_login\n"}, "hf_login"},
		{"no file", nil, nil, ""},
		{"HF_TOKEN_PATH without a file", map[string]string{"HF_TOKEN_PATH": "missing"},
			map[string]string{"home/.cache/huggingface/token": "hf_login"}, ""},
		{"an empty file", map[string]string{"HF_TOKEN_PATH": "tok"}, map[string]string{"tok": " \n"}, ""},
		{"a directory", map[string]string{"HF_TOKEN_PATH": "dir"}, map[string]string{"dir/x": "hf_no"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "XDG_CACHE_HOME"} {
				t.Setenv(k, "")
			}
			t.Setenv("HOME", filepath.Join(dir, "home"))
			for k, v := range tt.env {
				if strings.HasPrefix(k, "HF_TOKEN_PATH") || k == "HF_HOME" || k == "XDG_CACHE_HOME" {
					v = filepath.Join(dir, v)
				}
				t.Setenv(k, v)
			}
			for p, content := range tt.files {
				p = filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := query.TokenFromEnv(); got != tt.want {
				t.Errorf("TokenFromEnv() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTokenFileCrawl: a crawl sends the token of `hf auth login`'s file
// to the Hub as a bearer token, and prints it nowhere.
func TestTokenFileCrawl(t *testing.T) {
	const token = "hf_secretFromTheLoginFile"
	dir := t.TempDir()
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", dir)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	code, stdout, stderr := cli(t, "crawl", "--db", filepath.Join(dir, "db"), "--endpoint", srv.URL, "--json", "meta-llama/Llama-3.1-8B")
	if code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout+stderr, token) {
		t.Errorf("the token was printed:\n%s\n%s", stdout, stderr)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the Hub")
	}
	for _, r := range reqs {
		if r.Authorization != "Bearer "+token {
			t.Fatalf("%s %s: Authorization %q, want the file's token", r.Method, r.URL, r.Authorization)
		}
	}
}
