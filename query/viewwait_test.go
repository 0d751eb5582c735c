package query

import "context"

// WaitView waits until e's views (statistics, search index) are of data
// version at least version: for the tests of package query_test, since
// the views are refreshed in the background.
func WaitView(ctx context.Context, e *Engine, version uint64) error { return e.waitView(ctx, version) }
