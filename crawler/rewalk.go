package crawler

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gocolly/colly/v2"

	"github.com/hflineage/hflineage/graph"
)

// A complete walk has seen every model the Hub now lists in the seeds'
// families. Members the database held from before that the walk did not
// see have left: the Hub removed them, or they now declare other parents.
// Each is looked up on the single-model endpoint (through the walk's
// collector: paced and counted) and updated, or removed when the Hub no
// longer has it, so that the run's change log (history, diff) is true.

// reconcile looks up every member that left the roots' families and
// updates or removes it.
func (wk *walk) reconcile(roots []graph.ModelID) error {
	left, err := wk.sink.UnseenMembers(wk.ctx, roots, wk.opts.Depth)
	if err != nil || len(left) == 0 {
		return err
	}
	for _, id := range left {
		select {
		case wk.slots <- struct{}{}:
		case <-wk.ctx.Done():
			wk.col.Wait()
			return context.Cause(wk.ctx)
		}
		wk.send(&request{kind: "lookup", id: id, url: wk.modelURL(string(id))})
	}
	wk.col.Wait()
	if err := context.Cause(wk.ctx); err != nil {
		return err
	}
	wk.mu.Lock()
	gone := slices.Clone(wk.gone)
	wk.mu.Unlock()
	slices.Sort(gone)
	// Removed models first (their declared edges go; one still named as a
	// parent stays as a stub), then stubs that no model names any more.
	// Up to removalBatch models, both in one commit: a removed model that
	// stayed a stub is out of the family, so a resume would not find it
	// again to drop it once its children went too.
	passes := [][]func(Tx, graph.ModelID) error{{Tx.RemoveGone, Tx.DropOrphanStub}}
	if len(gone) > removalBatch {
		passes = [][]func(Tx, graph.ModelID) error{{Tx.RemoveGone}, {Tx.DropOrphanStub}}
	}
	for _, pass := range passes {
		for start := 0; start < len(gone); start += removalBatch {
			batch := gone[start:min(start+removalBatch, len(gone))]
			err := wk.commitPage(func(tx Tx) error {
				for _, drop := range pass {
					for _, id := range batch {
						if err := drop(tx, id); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// removalBatch is how many models a commit of reconcile removes at most.
const removalBatch = 500

// onLookupResponse handles the answer about a member that left.
func (wk *walk) onLookupResponse(r *colly.Response, rq *request, err error) {
	if err == nil {
		err = wk.onLookup(r, rq)
	}
	switch {
	case err == nil:
		wk.release(rq)
	case errors.Is(err, ErrNotFound):
		wk.mu.Lock()
		wk.gone = append(wk.gone, rq.id)
		wk.mu.Unlock()
		wk.recordMissing(string(rq.id), err) // a stub while children name it
		wk.release(rq)
	case errors.Is(err, ErrBadToken):
		wk.fail(err)
		wk.release(rq)
	default:
		wk.retryOr(rq, retryable(err), func() { wk.lookupFailed(rq, err) })
	}
}

// lookupFailed leaves a member that could not be looked up as it was.
func (wk *walk) lookupFailed(rq *request, err error) {
	wk.warn("lookup\x00"+string(rq.id), fmt.Sprintf("%s left the family but could not be looked up; kept as it was: %s",
		rq.id, shorten(err.Error(), 300)))
}

// onLookup stores what the Hub says of a member that left: its record and
// its parents now. When the Hub answers for another id (a rename followed),
// the old id goes and points to the new one.
func (wk *walk) onLookup(r *colly.Response, rq *request) error {
	m, err := DecodeModel(r.Body)
	if err != nil {
		return err
	}
	err = wk.commitPage(func(tx Tx) error {
		wk.delta.Pages++
		if m.ID != rq.id {
			if err := tx.RemoveGone(rq.id); err != nil {
				return err
			}
			if err := tx.PutAlias(string(rq.id), m.ID); err != nil {
				return err
			}
		}
		// Not a family member: stored, but not counted in Stats.
		_, _, err := tx.PutCrawled(m, parentsOf(m, ""))
		return err
	})
	if err != nil {
		wk.fail(err)
	}
	return nil
}
