package kazoo

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/knmproject/knm"
)

// Consumer is the name under which the projection keeps its cursor.
const Consumer = "kazoo_sync"

// Change says that a number changed. The projection needs no more: it reads the number's
// current state from knm's store, so a change applied twice, or late, does no harm.
type Change struct {
	ID            int64     // the event's id; ids increase in commit order
	Number        string    // E.164
	AccountBefore string    // the account the number was assigned to before the change, "" if none
	Time          time.Time // when the change was committed
}

// ChangeFeed is the stream of number changes the projection follows (knm's event outbox).
type ChangeFeed interface {
	// Changes returns at most limit changes with an id greater than afterID, in increasing
	// id order.
	Changes(ctx context.Context, afterID int64, limit int) ([]Change, error)
	// LastID returns the id of the newest change, 0 when there is none.
	LastID(ctx context.Context) (int64, error)
}

// CursorStore persists how far a consumer of the feed has got.
type CursorStore interface {
	// LoadCursor returns the id of the last change the consumer applied, 0 when none.
	LoadCursor(ctx context.Context, consumer string) (int64, error)
	// SaveCursor records that the consumer applied every change up to id.
	SaveCursor(ctx context.Context, consumer string, id int64) error
}

// Options configure a Projector. Store, Couch, Feed and Cursors are required.
type Options struct {
	Store        knm.NumberStore
	Couch        *Couch
	Feed         ChangeFeed
	Cursors      CursorStore
	BatchSize    int           // changes read per round; default 100
	PollInterval time.Duration // wait between rounds when caught up; default 1 s
	MaxBackoff   time.Duration // longest wait between retries while CouchDB fails; default 30 s
	Logger       *slog.Logger
	Now          func() time.Time
}

// Projector keeps Kazoo's CouchDB in step with knm's numbers: for every change it makes the
// number's phone_number document in its numbers/… database, and its copy in the owning
// account's database, equal to what Kazoo's own number manager would have written, and
// removes copies left in accounts that no longer own the number.
type Projector struct {
	o    Options
	wake chan struct{}

	mu      sync.Mutex
	lastErr string
}

// NewProjector returns a projector, or an invalid error when a required option is missing.
func NewProjector(o Options) (*Projector, error) {
	if o.Store == nil || o.Couch == nil || o.Feed == nil || o.Cursors == nil {
		return nil, knm.Errorf(knm.ErrInvalid, "kazoo: a projector needs a store, a CouchDB, a feed and a cursor store")
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
	return &Projector{o: o, wake: make(chan struct{}, 1)}, nil
}

// Wake asks a running projector to look for changes now rather than at its next poll; an
// instance that has just committed a change calls it to keep the lag short.
func (p *Projector) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run applies changes until ctx ends, waiting PollInterval when caught up and backing off
// (doubling, with jitter, up to MaxBackoff) while CouchDB or the store fails. Nothing is
// skipped: a change that cannot be applied is retried until it can.
func (p *Projector) Run(ctx context.Context) error {
	var backoff time.Duration
	for {
		n, err := p.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := p.o.PollInterval
		if err != nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), p.o.MaxBackoff)
			wait = backoff/2 + rand.N(backoff/2+1)
			p.o.Logger.Warn("kazoo sync: retrying", "error", err, "in", wait)
		} else {
			backoff = 0
			if n == p.o.BatchSize {
				continue // more are waiting
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-p.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Step applies the next batch of changes after the cursor and moves the cursor past them.
// It returns how many changes it applied: all of the batch, or none when it failed (the
// batch is then applied again, which is harmless). Changes of one number in a batch are
// applied once, with every account that owned it before.
func (p *Projector) Step(ctx context.Context) (int, error) {
	cursor, err := p.o.Cursors.LoadCursor(ctx, Consumer)
	if err != nil {
		return 0, p.fail(err)
	}
	changes, err := p.o.Feed.Changes(ctx, cursor, p.o.BatchSize)
	if err != nil || len(changes) == 0 {
		return 0, p.fail(err)
	}
	before := map[string][]string{}
	var order []string
	for _, c := range changes {
		prev, seen := before[c.Number]
		if !seen {
			order = append(order, c.Number)
		}
		if c.AccountBefore != "" && !slices.Contains(prev, c.AccountBefore) {
			prev = append(prev, c.AccountBefore)
		}
		before[c.Number] = prev
	}
	if err := p.projectBatch(ctx, order, before); err != nil {
		return 0, p.fail(err)
	}
	if err := p.o.Cursors.SaveCursor(ctx, Consumer, changes[len(changes)-1].ID); err != nil {
		return 0, p.fail(err)
	}
	return len(changes), p.fail(nil)
}

// fail records err for Status and returns it; a nil err clears the last error.
func (p *Projector) fail(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.lastErr = ""
		return nil
	}
	p.lastErr = err.Error()
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
	Events    int64   // changes written but not yet applied (an upper bound: ids may skip)
	Seconds   float64 // age of the oldest change not yet applied; 0 when caught up
	Cursor    int64   // id of the last change applied
	Head      int64   // id of the newest change
	LastError string  // the last failure, "" once a round succeeds
}

// Lag reports the projection's lag, for metrics and /readyz.
func (p *Projector) Lag(ctx context.Context) (Lag, error) {
	cursor, err := p.o.Cursors.LoadCursor(ctx, Consumer)
	if err != nil {
		return Lag{}, err
	}
	head, err := p.o.Feed.LastID(ctx)
	if err != nil {
		return Lag{}, err
	}
	l := Lag{Cursor: cursor, Head: head, Events: max(head-cursor, 0)}
	if l.Events > 0 {
		next, err := p.o.Feed.Changes(ctx, cursor, 1)
		if err != nil {
			return Lag{}, err
		}
		if len(next) > 0 && !next[0].Time.IsZero() {
			l.Seconds = max(p.o.Now().Sub(next[0].Time).Seconds(), 0)
		}
	}
	p.mu.Lock()
	l.LastError = p.lastErr
	p.mu.Unlock()
	return l, nil
}
