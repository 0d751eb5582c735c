package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Age is a length of time written in whole days ("7d") or as Go writes
// durations ("36h", "90m"); 0 means never. It is the value of
// --full-every and of the crawl request's "full_every" (a JSON string).
type Age time.Duration

// ParseAge reads an Age: "7d", "36h", "0". Negative ages are refused.
func ParseAge(s string) (Age, error) {
	var v time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > int(time.Duration(1<<63-1)/(24*time.Hour)) {
			return 0, errors.New("want a duration such as 7d or 36h")
		}
		v = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if v, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a duration such as 7d or 36h")
		}
	}
	if v < 0 {
		return 0, errors.New("must not be negative (0: never)")
	}
	return Age(v), nil
}

// String writes a in whole days when it is whole days ("7d"), else as Go
// writes durations.
func (a Age) String() string {
	d := time.Duration(a)
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Set makes *Age a flag.Value.
func (a *Age) Set(s string) error {
	v, err := ParseAge(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalJSON writes a as its String.
func (a Age) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON reads a string ParseAge reads; null leaves a unset.
func (a *Age) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a string such as "7d" or "36h"`)
	}
	return a.Set(s)
}
