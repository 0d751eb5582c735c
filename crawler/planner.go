package crawler

import (
	"context"
	"errors"
	"fmt"
)

// How a walk plans as it goes. A walk lists its families level by level,
// and each member it has queued costs at least one request (its children's
// listing): the queue is a lower bound of what is left to pay, known
// exactly. Part way through a level, what its members listed so far found
// below them, scaled to the members still to list, adds the next level's
// likely size. While that stays under a scan's cost the walk goes on; once
// it reaches it, walking on would cost more than scanning, whatever was
// spent already, and the walk hands over to a scan (Crawl runs it in the
// same run).

// errHandOver: the walk stopped to hand over to a scan.
var errHandOver = errors.New("the walk hands over to a scan")

// minSample is how many members of a level must be listed before what
// they found predicts the rest of the level.
const minSample = 64

// levelTally is what the walk knows of the level it lists.
type levelTally struct {
	depth  int
	size   int64 // members of the level queued when it began
	listed int64 // of those, fully listed since
	found  int64 // members they queued one level down
}

// startLevel counts the queue as a level begins (the walk's remaining
// cost, exactly, after a resume too) and checks it against a scan.
func (wk *walk) startLevel(depth int) error {
	var total, size int64
	var after *Pending
	for {
		batch, err := wk.sink.NextPending(after, 1024)
		if err != nil {
			return err
		}
		for _, p := range batch {
			total++
			if p.Depth == depth {
				size++
			}
		}
		if len(batch) < 1024 {
			break
		}
		last := batch[len(batch)-1]
		after = &last
	}
	wk.queued.Store(total)
	wk.mu.Lock()
	wk.lvl = levelTally{depth: depth, size: size}
	wk.mu.Unlock()
	wk.considerScan()
	return context.Cause(wk.ctx)
}

// listed counts a listing page at depth that queued found new members;
// done: the member's listing is complete.
func (wk *walk) listed(depth int, found int64, done bool) {
	wk.mu.Lock()
	if wk.lvl.depth == depth {
		wk.lvl.found += found
		if done {
			wk.lvl.listed++
		}
	}
	wk.mu.Unlock()
	wk.considerScan()
}

// remaining estimates the requests the walk has still to make: one per
// queued member, and one per member the unlisted part of the level is
// likely to find (once minSample members of it were listed).
func (wk *walk) remaining() (queued, predicted int64) {
	queued = wk.queued.Load()
	wk.mu.Lock()
	l := wk.lvl
	wk.mu.Unlock()
	if l.listed >= minSample && l.size > l.listed {
		predicted = (l.size - l.listed) * l.found / l.listed
	}
	return queued, predicted
}

// considerScan stops the walk to hand over to a scan once its remaining
// cost reaches a scan's (Options.scanCost; 0: never).
func (wk *walk) considerScan() {
	if wk.opts.scanCost <= 0 {
		return
	}
	queued, predicted := wk.remaining()
	if queued+predicted < int64(wk.opts.scanCost) {
		return
	}
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if wk.handOff != "" {
		return
	}
	l := wk.lvl
	reason := fmt.Sprintf("%d members queued to list", queued)
	if predicted > 0 {
		reason += fmt.Sprintf(" and about %d more below the %d of depth %d not listed yet (%d found under the first %d)",
			predicted, l.size-l.listed, l.depth, l.found, l.listed)
	}
	wk.handOff = fmt.Sprintf("the walk switched to a scan after %d requests: %s, so walking on costs about %d requests more, a scan about %d",
		wk.hub.requests.Load()-wk.requests0, reason, queued+predicted, wk.opts.scanCost)
	wk.fail(errHandOver)
}

// handOver ends the walk part of a crawl that goes on as a scan: in one
// commit its job becomes a scan's in the same run (a resume, after a stop
// or a crash, goes on with the scan). What the walk stored stays; the
// scan lists it again.
func (wk *walk) handOver() (Stats, error) {
	wk.col.Wait()
	job := Job{Kind: "scan", Depth: -1, Endpoint: wk.job.Endpoint, RunID: wk.job.RunID, Started: wk.job.Started}
	err := wk.commitPage(func(tx Tx) error {
		tx.Run().Mode = "scan"
		return tx.SetCrawlJob(job)
	})
	if err != nil {
		return wk.snapshot(), err
	}
	wk.job = job
	wk.mu.Lock()
	reason := wk.handOff
	wk.mu.Unlock()
	return wk.snapshot(), &handOverError{reason: reason}
}

// handOverError is Walk's answer when it handed over to a scan.
type handOverError struct{ reason string }

func (e *handOverError) Error() string { return e.reason }
func (e *handOverError) Unwrap() error { return errHandOver }

// pageForm is how listings are asked for, as learnt from the Hub's
// answers: models per page (the limit asked, and what the Hub gives) and
// whether with full=true instead of expand[]. The Sink remembers it as an
// int: a page size the Hub made a scan use, negative when with full=true
// (0: nothing learnt; Config.PageSize with expand[]).
func (w *Walker) pageForm() (page int, full bool, err error) {
	n, err := w.sink.MaxPageSize()
	if err != nil {
		return 0, false, err
	}
	page = w.cfg.PageSize
	switch {
	case n < 0:
		return -n, true, nil
	case n > 0 && n < page:
		return n, false, nil
	}
	return page, false, nil
}
