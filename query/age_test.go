package query

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAge(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		text    string
		wantErr bool
	}{
		{"7d", 7 * 24 * time.Hour, "7d", false},
		{"36h", 36 * time.Hour, "36h0m0s", false},
		{"48h", 48 * time.Hour, "2d", false},
		{"0", 0, "0s", false},
		{"0d", 0, "0s", false},
		{"1ns", 1, "1ns", false},
		{"-1d", 0, "", true},
		{"-5m", 0, "", true},
		{"weekly", 0, "", true},
		{"d", 0, "", true},
		{"1.5d", 0, "", true},
		{"999999999999d", 0, "", true}, // overflows a Duration
		{"", 0, "", true},
	} {
		a, err := ParseAge(tc.in)
		if (err != nil) != tc.wantErr || time.Duration(a) != tc.want || (err == nil && a.String() != tc.text) {
			t.Errorf("ParseAge(%q) = %v (%s), %v; want %v (%s), error %v", tc.in, time.Duration(a), a, err, tc.want, tc.text, tc.wantErr)
		}
	}
	var r CrawlRequest
	if err := json.Unmarshal([]byte(`{"all":true,"full_every":"7d"}`), &r); err != nil || time.Duration(r.FullEvery) != 7*24*time.Hour {
		t.Errorf("full_every 7d: %v, %v", r.FullEvery, err)
	}
	r = CrawlRequest{}
	if err := json.Unmarshal([]byte(`{"all":true,"full_every":null}`), &r); err != nil || r.FullEvery != 0 {
		t.Errorf("full_every null: %v, %v; want unset", r.FullEvery, err)
	}
	b, _ := json.Marshal(CrawlRequest{All: true, FullEvery: Age(36 * time.Hour)})
	if string(b) != `{"all":true,"full_every":"36h0m0s"}` {
		t.Errorf("marshal: %s", b)
	}
	b, _ = json.Marshal(CrawlRequest{All: true})
	if string(b) != `{"all":true}` {
		t.Errorf("marshal without full_every: %s", b)
	}
}
