package crawler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ErrOffline: $HF_HUB_OFFLINE is set, so nothing may contact the Hub.
var ErrOffline = errors.New("HF_HUB_OFFLINE is set: not contacting the Hub (unset it to crawl; the database answers reads as usual)")

// OfflineFromEnv reports whether $HF_HUB_OFFLINE asks that the Hub not be
// contacted: 1, true, yes or on, in any case, as the Hub's own client reads it.
func OfflineFromEnv() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("HF_HUB_OFFLINE"))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// TokenPath is the file `hf auth login` stores the Hub token in:
// $HF_TOKEN_PATH, else $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token,
// else ~/.cache/huggingface/token; "" when there is no home directory to
// find it in.
func TokenPath() string {
	if p := os.Getenv("HF_TOKEN_PATH"); p != "" {
		return p
	}
	if h := os.Getenv("HF_HOME"); h != "" {
		return filepath.Join(h, "token")
	}
	if c := os.Getenv("XDG_CACHE_HOME"); c != "" {
		return filepath.Join(c, "huggingface", "token")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface", "token")
}

// tokenFromFile returns the token in TokenPath's file, whitespace
// trimmed; "" when there is no such file or it cannot be read (what it
// holds is never part of an error).
func tokenFromFile() string {
	p := TokenPath()
	if p == "" {
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
