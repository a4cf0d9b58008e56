package kazoo

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/events"
)

// Consumer is the name of the projection's cursor in knm's event outbox.
const Consumer = "kazoo_sync"

// Options configure a Projector. Store and Couch are required.
type Options struct {
	// Store holds knm's numbers and the event outbox the projection follows, through the
	// persisted, leased cursor Consumer.
	Store        knm.Store
	Couch        *Couch
	BatchSize    int           // events handled per round; default 100
	PollInterval time.Duration // wait between rounds when caught up; default 1 s
	MaxBackoff   time.Duration // longest wait between retries while CouchDB fails; default 30 s
	// LeaseTTL is how long an instance holds the projection without renewing it (renewed
	// every third of it while a batch runs); default 30 s.
	LeaseTTL time.Duration
	// Owner names this instance in the lease; default a random id.
	Owner string
	// OnBatch, when set, is told of every batch handled: its events, and nil or why it
	// failed (the batch is then handled again).
	OnBatch func(batch []*knm.Event, err error)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Projector keeps Kazoo's CouchDB in step with knm's numbers: for every number event it
// makes the number's phone_number document in its numbers/… database, and its copy in
// the owning account's database, equal to what Kazoo's own number manager would have
// written, and removes copies left in accounts that no longer own the number. It reads the
// outbox as the events.Consumer named Consumer: one instance at a time, resuming after a
// restart where the last batch ended.
type Projector struct {
	o        Options
	consumer *events.Consumer

	mu      sync.Mutex
	lastErr string
}

// NewProjector returns a projector, or an invalid error when a required option is missing.
func NewProjector(o Options) (*Projector, error) {
	if o.Store == nil || o.Couch == nil {
		return nil, knm.Errorf(knm.ErrInvalid, "kazoo: a projector needs a store and a CouchDB")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Projector{o: o}
	p.consumer = &events.Consumer{Store: o.Store, Name: Consumer, Handle: p.Handle, Owner: o.Owner,
		Start: events.FromOldest, Batch: o.BatchSize, Poll: o.PollInterval, LeaseTTL: o.LeaseTTL,
		MaxBackoff: o.MaxBackoff, Logger: o.Logger}
	return p, nil
}

// Run projects events until ctx ends, waiting PollInterval when caught up and backing off
// (doubling, with jitter, up to MaxBackoff) while CouchDB or the store fails; then it gives
// the lease up and returns nil. Nothing is skipped: a batch that cannot be applied is
// retried until it can.
func (p *Projector) Run(ctx context.Context) error { return p.consumer.Run(ctx) }

// Step projects the next batch of events after the cursor and moves the cursor past them.
// It returns how many events it handled: all of the batch, or none when it failed (the
// batch is then handled again, which is harmless) or another instance holds the lease.
func (p *Projector) Step(ctx context.Context) (int, error) { return p.consumer.Step(ctx) }

// Release gives the projection's lease up, so another instance may take over at once.
func (p *Projector) Release(ctx context.Context) error { return p.consumer.Release(ctx) }

// CatchUp projects every event committed before it was called and returns how many it
// handled. While another instance holds the lease, it waits for that one to get there,
// telling waiting (when not nil) at each look. It stops at the first failure.
func (p *Projector) CatchUp(ctx context.Context, waiting func(Lag)) (int, error) {
	target, err := p.o.Store.LastEventID(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		l, err := p.Lag(ctx)
		if err != nil || l.Cursor >= target {
			return total, err
		}
		n, err := p.Step(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n > 0 {
			continue
		}
		if waiting != nil {
			waiting(l)
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(p.o.PollInterval):
		}
	}
}

// Handle projects a batch of events (an events.Handler): the numbers it names are applied
// once each, from knm's current state, with every account that owned them during the
// batch. Handling a batch again, or late, does no harm.
func (p *Projector) Handle(ctx context.Context, batch []*knm.Event) error {
	accounts := map[string][]string{}
	var order []string
	for _, e := range batch {
		prev, seen := accounts[e.Number]
		if !seen {
			order = append(order, e.Number)
		}
		for _, a := range []string{e.AccountBefore, e.AccountAfter} {
			if a != "" && !slices.Contains(prev, a) {
				prev = append(prev, a)
			}
		}
		accounts[e.Number] = prev
	}
	err := p.projectBatch(ctx, order, accounts)
	p.mu.Lock()
	p.lastErr = ""
	if err != nil {
		p.lastErr = err.Error()
	}
	p.mu.Unlock()
	if p.o.OnBatch != nil {
		p.o.OnBatch(batch, err)
	}
	return err
}

// Project makes Kazoo's documents of one number match knm's current state: the number's
// document in its number database (created if missing), its copy in the owner's account
// database when that database exists, and no copy in any other account's database among
// accountsBefore and the owners the current document names. A number knm no longer has is
// removed from all of them. Applying it twice changes nothing the second time.
func (p *Projector) Project(ctx context.Context, number string, accountsBefore ...string) error {
	db := NumberDB(number)
	if db == "" {
		p.o.Logger.Warn("kazoo sync: number too short for a number database, skipped", "number", number)
		return nil
	}
	cur, err := p.o.Store.GetNumber(ctx, number)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		cur, err = nil, nil
	}
	if err != nil {
		return err
	}
	have, err := p.o.Couch.get(ctx, db, number)
	if err != nil {
		return err
	}
	stale := slices.Clone(accountsBefore)
	for _, k := range []string{"pvt_assigned_to", "pvt_previously_assigned_to"} {
		var a string
		if json.Unmarshal(have[k], &a) == nil && a != "" {
			stale = append(stale, a)
		}
	}
	if cur == nil {
		return p.remove(ctx, number, db, stale)
	}
	want, err := NumberDoc(cur)
	if err != nil {
		return err
	}
	if _, err := p.o.Couch.writeDoc(ctx, docWrite{db: db, id: number, want: want, createDB: true,
		have: have, haveRead: true}); err != nil {
		return err
	}
	if adb := AccountDB(cur.AssignedTo); adb != "" {
		if _, err := p.o.Couch.writeDoc(ctx, docWrite{db: adb, id: number, want: want}); err != nil {
			return err
		}
	}
	stale = append(stale, cur.PreviouslyAssignedTo)
	return p.unlist(ctx, number, cur.AssignedTo, stale)
}

// remove deletes a number knm no longer has: first its copies, then its document, as
// Kazoo's delete does.
func (p *Projector) remove(ctx context.Context, number, db string, accounts []string) error {
	if err := p.unlist(ctx, number, "", accounts); err != nil {
		return err
	}
	_, err := p.o.Couch.deleteDoc(ctx, db, number)
	return err
}

// unlist deletes the number's copy from the databases of accounts other than owner.
func (p *Projector) unlist(ctx context.Context, number, owner string, accounts []string) error {
	seen := map[string]bool{}
	for _, a := range accounts {
		adb := AccountDB(a)
		if adb == "" || a == owner || seen[adb] {
			continue
		}
		seen[adb] = true
		if _, err := p.o.Couch.deleteDoc(ctx, adb, number); err != nil {
			return err
		}
	}
	return nil
}

// NumberDoc returns the phone_number document Kazoo keeps for n, without _rev (each
// database has its own revision of it).
func NumberDoc(n *knm.Number) (Doc, error) {
	c := n.Clone()
	c.Rev = 0
	raw, err := c.MarshalKazoo()
	if err != nil {
		return nil, err
	}
	var d Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// Lag is how far the projection is behind knm's changes.
type Lag struct {
	Events     int64     // events written but not yet applied
	Seconds    float64   // age of the oldest event not yet applied; 0 when caught up
	Cursor     int64     // id of the last event applied
	Head       int64     // id of the newest event
	Owner      string    // the instance holding (or that last held) the lease; "" before the first
	LeaseUntil time.Time // when Owner's lease ends
	LastError  string    // this instance's last failure, "" once a batch succeeds
}

// Lag reports the projection's lag, for metrics and /readyz. It is the same on every
// instance sharing the store, except LastError, which is this instance's.
func (p *Projector) Lag(ctx context.Context) (Lag, error) {
	return lagOf(ctx, p.o.Store, p.o.Now(), p.LastError())
}

// LastError returns this projector's last failure, "" once a batch succeeds.
func (p *Projector) LastError() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// lagOf reads the projection's lag from the outbox; a projection never run has handled
// nothing.
func lagOf(ctx context.Context, s knm.EventStore, now time.Time, lastErr string) (Lag, error) {
	cur, err := s.GetEventCursor(ctx, Consumer)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		cur, err = &knm.EventCursor{Name: Consumer}, nil
	}
	if err != nil {
		return Lag{}, err
	}
	el, err := events.LagAfter(ctx, s, cur.LastID, now)
	if err != nil {
		return Lag{}, err
	}
	return Lag{Events: el.Events, Seconds: el.Oldest.Seconds(), Cursor: el.Cursor, Head: el.Head, Owner: cur.Owner,
		LeaseUntil: cur.LeaseUntil, LastError: lastErr}, nil
}
