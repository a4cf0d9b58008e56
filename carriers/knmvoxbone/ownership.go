package knmvoxbone

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/knmproject/knm"
)

// Flights are the orders this process is running now. Recovery leaves them alone even
// though their rows are this instance's own: the rest of its own unfinished rows (a step
// that failed and left the row for Recover) it settles at once.
type Flights struct {
	mu  sync.Mutex
	ids map[string]int
}

// NewFlights returns an empty set.
func NewFlights() *Flights { return &Flights{ids: map[string]int{}} }

func (f *Flights) begin(id string) {
	f.mu.Lock()
	f.ids[id]++
	f.mu.Unlock()
}

func (f *Flights) end(id string) {
	f.mu.Lock()
	if f.ids[id]--; f.ids[id] <= 0 {
		delete(f.ids, id)
	}
	f.mu.Unlock()
}

func (f *Flights) flying(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[id] > 0
}

// IDs returns the orders running now, sorted.
func (f *Flights) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.ids))
}

// liveInstances returns the ids of the instances whose lease is live now.
func (c *Carrier) liveInstances(ctx context.Context) (map[string]bool, error) {
	ins, err := c.store.ListInstances(ctx)
	if err != nil {
		return nil, fmt.Errorf("knm_voxbone: instances: %w", err)
	}
	now := c.now()
	live := make(map[string]bool, len(ins))
	for _, in := range ins {
		live[in.ID] = in.Live(now)
	}
	return live, nil
}

// claim returns e as this instance may settle it, with ok false when it must be left alone:
// an entry of another live instance is that instance's to finish, and one of this instance
// is left while it runs here. An entry of an expired or released instance, or of none, is
// taken over under a new fence first (without a lease of its own, this process can only
// settle entries without an owner). Losing a takeover race is ok false, not an error.
func (c *Carrier) claim(ctx context.Context, e *knm.JournalEntry, live map[string]bool) (*knm.JournalEntry,
	bool, error) {
	me := c.owner()
	switch {
	case c.flights.flying(e.ID): // even under a lease this process lost since: it ends soon
		return nil, false, nil
	case e.Owner != "" && e.Owner == me:
		return e, true, nil
	case e.Owner != "" && live[e.Owner]:
		return nil, false, nil
	case me == "" && e.Owner == "":
		return e, true, nil
	case me == "":
		return nil, true, knm.Errorf(knm.ErrConflict, "owned by instance %s, whose lease has ended; "+
			"settling it needs a registered instance", e.Owner)
	}
	taken, err := c.store.TakeOverJournal(ctx, e.ID, e.Rev, me)
	if err != nil {
		if knm.IsErrorName(err, knm.ErrConflict) && !knm.IsLeaseLost(err) {
			return nil, false, nil // another instance took it first, or its owner renewed
		}
		return nil, true, err
	}
	if e.Owner != "" {
		c.log.Info("knm_voxbone: order taken over from an instance whose lease ended", "order", e.ID,
			"from", e.Owner, "fence", taken.Fence)
		if c.metrics.TakenOver != nil {
			c.metrics.TakenOver()
		}
	}
	return taken, true, nil
}

// OwnedUnfinished returns the unfinished orders that instance owns, for the log of a
// stopping instance: recovery settles them once its lease has ended.
func (c *Carrier) OwnedUnfinished(ctx context.Context, instance string) ([]string, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: unfinishedStates})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.Owner == instance {
			out = append(out, e.ID+" ("+e.State+")")
		}
	}
	return out, nil
}
