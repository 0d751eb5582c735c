package main

import "github.com/hflineage/hflineage/query"

// refuseOffline is query.ErrOffline when $HF_HUB_OFFLINE is set: crawl,
// schedule and a serve with a schedule, which would contact the Hub,
// refuse at once (exit 1); the commands that read the database work as
// usual.
func refuseOffline() error {
	if query.Offline() {
		return query.ErrOffline
	}
	return nil
}
