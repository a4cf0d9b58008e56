package knmvoxbone

import (
	"context"
	"time"

	"github.com/knmproject/knm"
)

// UnroutedDID is a DID knm bought whose routing is not confirmed yet: its job was sent and
// not verified, or failed and waits for Recover's next attempt.
type UnroutedDID struct {
	Number      string
	OrderID     string // the order that bought it; "" for a `knm voxbone route` run
	For         string // the knm account whose routing overrides apply
	State       string // RoutingSent or RoutingPending
	Error       string // why the last attempt failed
	NextAttempt time.Time
}

// UnroutedDIDs lists the DIDs of the routing jobs not done, oldest job first, at most
// limit (0: all). It reads the journal only, so it answers while Voxbone is unreachable.
func UnroutedDIDs(ctx context.Context, s knm.JournalStore, limit int) ([]UnroutedDID, error) {
	rows, err := s.FindJournals(ctx, knm.JournalFilter{Carrier: RoutingJournal,
		States: []string{RoutingSent, RoutingPending}})
	if err != nil {
		return nil, err
	}
	var out []UnroutedDID
	for _, e := range rows {
		j, err := decodeJob(e)
		if err != nil {
			return nil, err
		}
		for _, d := range j.DIDs {
			if d.Done {
				continue
			}
			u := UnroutedDID{Number: d.Number, OrderID: j.OrderID, For: j.For, State: e.State, Error: j.Error}
			if j.NextAttempt != nil {
				u.NextAttempt = *j.NextAttempt
			}
			if out = append(out, u); limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}
