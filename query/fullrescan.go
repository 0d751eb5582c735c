package query

import (
	"context"
	"fmt"
	"time"
)

// DefaultFullEvery is how old the last scan that listed the whole Hub may
// be before a scheduled scan lists it whole again (schedule's and serve's
// --full-every).
const DefaultFullEvery = 7 * 24 * time.Hour

// fullRescanDue says why the scan r asks for is to be full ("" when it is
// not): r.FullEvery is set, r is a scan that would be incremental (the
// database holds a complete scan, no unfinished crawl is to be resumed,
// --full is not given), and the last scan that listed the whole Hub ended
// r.FullEvery or longer ago. An incremental scan lists models by
// lastModified down to the previous scan's watermark, so a model made
// public (or otherwise listable) later with an older lastModified is
// never listed: its children's parent would stay "not listed by a
// complete scan" while the Hub serves it. A full scan lists it.
func (e *Engine) fullRescanDue(ctx context.Context, r CrawlRequest) (string, error) {
	if r.FullEvery <= 0 || r.Full || r.Kind() != "scan" {
		return "", nil
	}
	if _, unfinished, err := e.st.CrawlJob(); err != nil || unfinished {
		return "", err // a resume goes on as it began
	}
	if _, scanned, err := e.st.LastScan(); err != nil || !scanned {
		return "", err // the first scan lists everything anyway
	}
	last, ok, err := e.st.LastListing(ctx)
	if err != nil {
		return "", err
	}
	if !ok {
		return fmt.Sprintf("full rescan: no scan has listed the whole Hub yet (--full-every %s)", r.FullEvery), nil
	}
	age := time.Since(last.Ended())
	if age < time.Duration(r.FullEvery) {
		return "", nil
	}
	return fmt.Sprintf("full rescan: the last scan that listed the whole Hub (run %d, %s) is older than --full-every %s; an incremental scan misses models made public with an older lastModified",
		last.ID, last.Ended().UTC().Format(time.RFC3339), r.FullEvery), nil
}
