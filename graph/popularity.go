package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// OptionalCount is a count the Hub may leave out of an answer, such as a
// model's all-time downloads: its zero value is unknown, not 0. In JSON it
// is a number when known and null when not (a field tagged omitzero is
// left out when unknown).
type OptionalCount struct {
	N     int64
	Known bool
}

// CountOf returns n as a known count.
func CountOf(n int64) OptionalCount { return OptionalCount{N: n, Known: true} }

// IsZero reports whether the count is unknown (a known 0 is not zero).
func (c OptionalCount) IsZero() bool { return !c.Known }

// text is the number in decimal, or "" when unknown (an empty cell).
func (c OptionalCount) text() string {
	if !c.Known {
		return ""
	}
	return strconv.FormatInt(c.N, 10)
}

// MarshalJSON writes the number, or null when unknown.
func (c OptionalCount) MarshalJSON() ([]byte, error) {
	if !c.Known {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, c.N, 10), nil
}

// UnmarshalJSON reads a number (known) or null (unknown).
func (c *OptionalCount) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*c = OptionalCount{}
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("graph: a count: %w", err)
	}
	*c = CountOf(n)
	return nil
}

// Popularity is what a set of models (a family's derivatives) adds up to on
// the Hub: their downloads and likes summed, saturating (AddCount). The
// Hub's downloads are the last 30 days'. DownloadsAllTime sums the all-time
// downloads of the members whose count is known, and MembersWithoutAllTime
// says how many lack one (a database crawled before hflineage asked for
// them, a Hub that does not give them, a stub); it is unknown when no
// member's count is known (none has one, or there are no members).
type Popularity struct {
	Downloads             int64         `json:"downloads"`
	DownloadsAllTime      OptionalCount `json:"downloads_all_time,omitzero"`
	MembersWithoutAllTime int           `json:"members_without_all_time"`
	Likes                 int64         `json:"likes"`
}

// Add counts one member.
func (p *Popularity) Add(n *NodeInfo) {
	p.Downloads = AddCount(p.Downloads, n.Downloads)
	p.Likes = AddCount(p.Likes, n.Likes)
	if n.HasDownloadsAllTime {
		p.DownloadsAllTime = CountOf(AddCount(p.DownloadsAllTime.N, n.DownloadsAllTime))
	} else {
		p.MembersWithoutAllTime++
	}
}
