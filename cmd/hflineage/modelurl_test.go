package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// TestParseModelRef: a model's page on the Hub, as people paste it, reads
// as its id; what names no model is refused with a line that says what it
// names.
func TestParseModelRef(t *testing.T) {
	endpoints := []string{"http://127.0.0.1:8088", "https://mirror.example/hub/", "http://huggingface"}
	tests := []struct {
		ref     string
		want    graph.ModelID
		wantErr string // a part of the error ("" for none)
	}{
		{"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", ""},
		{"gpt2", "gpt2", ""},
		{"https://huggingface.co/meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", ""},
		{"https://huggingface.co/meta-llama/Llama-3.1-8B/", "meta-llama/Llama-3.1-8B", ""},
		{"https://huggingface.co/meta-llama/Llama-3.1-8B/tree/main", "meta-llama/Llama-3.1-8B", ""},
		{"https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json", "meta-llama/Llama-3.1-8B", ""},
		{"https://huggingface.co/meta-llama/Llama-3.1-8B?library=transformers", "meta-llama/Llama-3.1-8B", ""},
		{"https://huggingface.co/meta-llama/Llama-3.1-8B#model-card", "meta-llama/Llama-3.1-8B", ""},
		{"http://www.huggingface.co/a/b", "a/b", ""},
		{"HTTPS://HuggingFace.co/a/b", "a/b", ""},
		{"huggingface.co/a/b", "a/b", ""},
		{"hf.co/a/b", "a/b", ""},
		{"https://hf.co/a/b/resolve/main/model.safetensors", "a/b", ""},
		{"https://huggingface.co/api/models/a/b", "a/b", ""},
		{"http://127.0.0.1:8088/a/b", "a/b", ""},
		{"127.0.0.1:8088/a/b/tree/main", "", `more than one "/"`}, // an endpoint's host only with a scheme
		{"https://mirror.example/hub/a/b", "a/b", ""},
		{"https://mirror.example/a/b", "", "not under the endpoint's path /hub"},
		{"https://huggingface.co/datasets/a/b", "", "a dataset's URL, not a model's"},
		{"hf.co/datasets/a/b", "", "a dataset's URL, not a model's"},
		{"https://huggingface.co/spaces/a/b", "", "a Space's URL, not a model's"},
		{"https://huggingface.co/gpt2", "gpt2", ""}, // a single-name model (or an organisation: the command says "not in the database")
		{"https://huggingface.co/bert-base-uncased/tree/main", "bert-base-uncased", ""},
		{"https://huggingface.co/gpt2/blob/main/config.json", "gpt2", ""},
		{"https://huggingface.co/a/tree/tree/main", "a/tree", ""},
		{"https://huggingface.co/a/tree", "a/tree", ""},
		{"hf.co/gpt2", "gpt2", ""},
		{"https://huggingface.co/api/models/gpt2", "gpt2", ""},
		{"https://huggingface.co/old--org/legacy..name", "old--org/legacy..name", ""}, // listed under older rules
		{"https://huggingface.co/a/" + strings.Repeat("x", 97), "a/" + graph.ModelID(strings.Repeat("x", 97)), ""},
		{"https://huggingface.co/a/%C3%A9--x", "", `character 'é' not allowed`}, // a legacy id is ASCII
		{"https://huggingface.co/a/..", "", `".."`},
		{"https://huggingface.co/hf.co/x", "", "begins with the Hub's host hf.co"},
		{"https://hf.co/HuggingFace.co/a/b", "", "begins with the Hub's host HuggingFace.co"},
		{"huggingface/bert", "huggingface/bert", ""}, // with HF_ENDPOINT=http://huggingface: an id
		{"http://huggingface/a/b", "a/b", ""},
		{"127.0.0.1/a", "127.0.0.1/a", ""}, // a valid id, not a URL,
		{"https://user:hf_SECRET@huggingface.co/datasets/x", "", `"https://huggingface.co/datasets/x": a dataset's URL`},
		{"https://huggingface.co/spaces/a/b?token=hf_SECRET#hf_SECRET2", "", `"https://huggingface.co/spaces/a/b": a Space's URL`},
		{"https://hf_SECRET@github.com/a/b?t=hf_SECRET", "", `"https://github.com/a/b": github.com is not the Hub`},
		{"https://x:hf_SECRET@huggingface.co/a/b c?t=hf_SECRET", "", `(from "https://huggingface.co/a/b c")`},
		{"https://huggingface.co/", "", "the Hub's home page names no model"},
		{"https://huggingface.co/docs/hub", "", "a page of the Hub"},
		{"https://huggingface.co/models?other=base_model:x", "", "a page of the Hub"},
		{"https://github.com/a/b", "", "github.com is not the Hub"},
		{"ftp://huggingface.co/a/b", "", "not a Hub URL"},
		{"https://huggingface.co/a/b c", "", `character ' ' not allowed`},
		{"https://huggingface.co/a--b/c", "a--b/c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := graph.ParseModelRef(tt.ref, endpoints...)
			switch {
			case tt.wantErr == "" && (err != nil || got != tt.want):
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %q, %v; want an error with %q", got, err, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), graph.ErrInvalidID.Error()):
				t.Errorf("error %q does not wrap ErrInvalidID", err)
			case err != nil && strings.Contains(err.Error(), "SECRET"):
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}
}

// TestModelURLArguments: a Hub URL is taken wherever a command takes a
// MODEL (positional, in a comma-separated list, and --root), also on the
// host of --endpoint or $HF_ENDPOINT; one that names no model is a usage
// error (exit 2) before any database is opened.
func TestModelURLArguments(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, srv.URL+"/meta-llama/Llama-3.1-8B/tree/main")

	t.Setenv("HF_ENDPOINT", srv.URL)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, ref := range []string{
		"https://huggingface.co/meta-llama/Llama-3.1-8B",
		"https://huggingface.co/meta-llama/Llama-3.1-8B/tree/main/",
		"hf.co/meta-llama/Llama-3.1-8B?x=1",
		srv.URL + "/meta-llama/Llama-3.1-8B",
		"http://" + host + "/meta-llama/Llama-3.1-8B",
	} {
		t.Run("count "+ref, func(t *testing.T) {
			code, stdout, stderr := cli(t, "count", "--db", db, "--json", ref)
			var c struct{ Model string }
			if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.Model != "meta-llama/Llama-3.1-8B" {
				t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
	t.Run("ecosystem of URLs", func(t *testing.T) {
		code, stdout, stderr := cli(t, "count", "--db", db, "--json", "https://huggingface.co/a/ft,hf.co/b/lora", "https://huggingface.co/c/gguf")
		var c struct{ Matched int }
		if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.Matched != 3 {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("export --root", func(t *testing.T) {
		code, stdout, stderr := cli(t, "export", "--db", db, "--format", "csv", "--root", "https://huggingface.co/a/ft/")
		if code != 0 || !strings.Contains(stdout, "a/ft,quantized,c/gguf") || strings.Contains(stdout, "b/lora") {
			t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
	})
	t.Run("stats --root=", func(t *testing.T) {
		code, stdout, stderr := cli(t, "stats", "--db", db, "--json", "--root=hf.co/a/ft")
		if code != 0 || !strings.Contains(stdout, `"a/ft"`) {
			t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
	})
	t.Run("ancestors", func(t *testing.T) {
		code, stdout, stderr := cli(t, "ancestors", "--db", db, "https://huggingface.co/c/gguf/blob/main/README.md")
		if code != 0 || !strings.Contains(stdout, "a/ft") {
			t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
	})

	// A single-name model's URL is read as its id: the command looks it up
	// (exit 1, not a usage error). Legacy ids: TestLegacyIDsOnTheCommandLine.
	for _, ref := range []string{"https://huggingface.co/gpt2", "https://huggingface.co/bert-base-uncased/tree/main"} {
		t.Run("count "+ref, func(t *testing.T) {
			code, stdout, stderr := cli(t, "count", "--db", db, ref)
			if code != exitFailure || !strings.Contains(stderr, "not in the database") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, not in the database", code, stdout, stderr)
			}
		})
	}

	none := filepath.Join(t.TempDir(), "none")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"count", "--db", none, "https://huggingface.co/datasets/a/b"}, `hflineage: invalid model id "https://huggingface.co/datasets/a/b": a dataset's URL, not a model's`},
		{[]string{"crawl", "--db", none, "https://huggingface.co/spaces/a/b"}, `hflineage: invalid model id "https://huggingface.co/spaces/a/b": a Space's URL, not a model's`},
		{[]string{"export", "--db", none, "--format", "dot", "--root", "https://github.com/a/b"}, `hflineage: invalid model id "https://github.com/a/b": github.com is not the Hub (want https://huggingface.co/ORG/NAME, hf.co or $HF_ENDPOINT's host)`},
		{[]string{"history", "--db", none, "https://huggingface.co/hf.co/x"}, `hflineage: invalid model id "https://huggingface.co/hf.co/x": its path begins with the Hub's host hf.co (a URL pasted into another?)`},
		{[]string{"count", "--db", none, "https://user:hf_SECRET@huggingface.co/datasets/x?t=hf_SECRET"}, `hflineage: invalid model id "https://huggingface.co/datasets/x": a dataset's URL, not a model's`},
		{[]string{"count", "--db", none, host + "/a/b"}, `hflineage: invalid model id "` + host + `/a/b": more than one "/"`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, tt.args...)
			first, _, _ := strings.Cut(stderr, "\n")
			// The line may name the command ("hflineage: count: invalid …").
			if code != exitUsage || stdout != "" || !strings.HasPrefix(first, "hflineage: ") || !strings.HasSuffix(first, strings.TrimPrefix(tt.msg, "hflineage: ")) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and first line:\n%s", code, stdout, stderr, tt.msg)
			}
		})
	}
}
