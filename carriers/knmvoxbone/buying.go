package knmvoxbone

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knmproject/knm"
)

// buyer coalesces the purchases of concurrent searches and keeps each search idempotent for
// its caller. Searches that must buy DIDs of the same group query within one gathering
// window share one cart and one checkout, and the bought DIDs are split among them in the
// order they joined: N searches cost one order's requests, not N. A retry of a search
// (same key) while its order is unfinished waits for that order's share instead of buying
// again. Carriers of one Voxbone account share one buyer (through Reservations). It is safe
// for concurrent use.
type buyer struct {
	mu    sync.Mutex
	open  map[batchKey]*batch // batches still gathering searches
	byKey map[string]*share   // search key -> its share while the order is unfinished
	// promised counts the requests of the orders admitted and not finished, which the
	// limiter does not see yet: admission counts them as queued.
	promised atomic.Int64
	// groups is how many DID groups the last order of each query planned (one add each).
	groups map[groupQuery]int
	// delivered are numbers bought for and handed to a search, by number: they stay in the
	// pool, available for their caller to activate, but are not offered to another
	// account's search until the hold time has passed.
	delivered map[string]delivery
}

// delivery is who got a number and until when it is kept from other accounts.
type delivery struct {
	account string
	until   time.Time
}

// deliver records rows handed to account's search until until.
func (by *buyer) deliver(rows []knm.SearchRow, account string, until time.Time) {
	by.mu.Lock()
	defer by.mu.Unlock()
	now := time.Now()
	for n, d := range by.delivered {
		if now.After(d.until) {
			delete(by.delivered, n)
		}
	}
	for _, r := range rows {
		by.delivered[r.Number] = delivery{account: account, until: until}
	}
}

// deliveredCount is how many numbers are kept from other accounts' searches.
func (by *buyer) deliveredCount() int {
	by.mu.Lock()
	defer by.mu.Unlock()
	return len(by.delivered)
}

// deliveredToOther reports whether number was handed to another account's search lately.
func (by *buyer) deliveredToOther(number, account string) bool {
	by.mu.Lock()
	defer by.mu.Unlock()
	d, ok := by.delivered[number]
	return ok && d.account != account && time.Now().Before(d.until)
}

// groupsFor is how many adds an order of q is expected to send: as many as the last one.
func (by *buyer) groupsFor(q groupQuery) int {
	by.mu.Lock()
	defer by.mu.Unlock()
	return max(by.groups[q], 1)
}

// planned records how many groups an order of q planned.
func (by *buyer) planned(q groupQuery, lines int) {
	by.mu.Lock()
	defer by.mu.Unlock()
	by.groups[q] = lines
}

func newBuyer() *buyer {
	return &buyer{open: map[batchKey]*batch{}, byKey: map[string]*share{}, groups: map[groupQuery]int{},
		delivered: map[string]delivery{}}
}

// batchKey is what searches must share to share an order: the DID-group query, and the
// routing their numbers get, so that one order's DIDs are configured one way.
type batchKey struct {
	query   groupQuery
	routing Routing
}

// batch is one coalesced order being gathered or bought.
type batch struct {
	key batchKey
	// routeFor and routeReseller are the first member's account and reseller, whose
	// routing (the same for every member, by the key) the order applies.
	routeFor, routeReseller string
	orderID                 string
	queryID                 string
	shares                  []*share
	active                  []*share // the shares bought for, one per member of the order's payload
	closed                  bool     // gathered: no search joins any more
	claimed                 bool     // a search's Idempotency-Key names the order: it gets a row even unbought
	claiming                int      // shares whose key is being claimed: the batch does not close on them
	order                   string   // set once the checkout was sent
	ctx                     context.Context
	cancel                  context.CancelFunc // stops the batch before its checkout when every caller left
	// decided is closed once the checkout was sent or the batch ended without one: a caller
	// leaving a gathered batch waits for it to learn whether its share is being bought.
	decided chan struct{}
	decide  sync.Once
}

// settle closes b.decided (once).
func (b *batch) settle() { b.decide.Do(func() { close(b.decided) }) }

// share is one search's part of a batch. Its fields are guarded by buyer.mu.
type share struct {
	b        *batch
	key      string // the search key; "" for none
	account  string
	request  string // what was asked (country, prefix, quantity), to refuse a reused key
	want     int
	waiters  int                  // callers waiting for it (a retry adds one)
	progress []knm.SearchProgress // the waiting callers, told when the checkout is sent
	done     chan struct{}        // closed once rows and err are set
	handing  bool                 // rows are being handed to a waiting caller, who must wait for them
	rows     []knm.SearchRow
	err      error
}

// searchKey names a search for its caller: the account and its Idempotency-Key, or the
// account and what was asked. A search without account has none (it cannot be held for).
func searchKey(opts knm.SearchOptions) string {
	switch {
	case opts.AccountID == "":
		return ""
	case opts.IdempotencyKey != "":
		return "key:" + opts.AccountID + ":" + opts.IdempotencyKey
	}
	return "search:" + opts.AccountID + ":" + searchRequest(opts)
}

// searchRequest is what a search asked, as one string.
func searchRequest(opts knm.SearchOptions) string {
	return opts.Country + ":" + opts.Prefix.Dialcode + opts.Prefix.National + ":" + strconv.Itoa(opts.Quantity)
}

// buyShared buys short DIDs for a search: from the share of an earlier identical search
// whose order is unfinished, else by joining the batch gathering for the same query, else
// (when the rate budget can carry a new order before the deadline) by starting one.
func (c *Carrier) buyShared(ctx context.Context, opts knm.SearchOptions, q groupQuery,
	short int) ([]knm.SearchRow, error) {
	key := searchKey(opts)
	if sh, err := c.buying().attach(key, opts); sh != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return c.awaitShare(ctx, opts, sh, key)
	}
	if rows, found, err := c.fromJournal(ctx, opts, key); found || err != nil {
		return rows, err
	}
	routing, err := c.routingFor(ctx, opts.AccountID, opts.ResellerID)
	if err != nil {
		return nil, err
	}
	sh, b, attached, err := c.buying().join(batchKey{query: q, routing: routing}, key, opts, short)
	switch {
	case err != nil:
		return nil, err
	case attached: // the same search joined meanwhile: one share, bought once
		return c.awaitShare(ctx, opts, sh, key)
	}
	var first string
	if opts.IdempotencyKey != "" && key != "" { // claimed before the batch can start buying
		if first, err = c.claimSearchKey(ctx, key, sh); err != nil || first != "" {
			c.buying().redirect(sh, first, err)
		} else {
			c.buying().claimed(sh.b)
		}
		c.buying().claimEnded(sh.b)
	}
	if b != nil { // a new batch: it must fit the rate budget before the deadline
		c.start(ctx, b, opts.Deadline, short)
	}
	switch {
	case err != nil:
		return nil, err
	case first != "":
		return c.awaitOrder(ctx, opts, first, key)
	}
	return c.awaitShare(ctx, opts, sh, key)
}

// awaitShare waits for sh's rows, or for the earlier order its search key was found to name.
func (c *Carrier) awaitShare(ctx context.Context, opts knm.SearchOptions, sh *share,
	key string) ([]knm.SearchRow, error) {
	rows, err := c.await(ctx, opts, sh)
	if ke := (*keyClaimed)(nil); errors.As(err, &ke) {
		return c.awaitOrder(ctx, opts, ke.order, key)
	}
	return rows, err
}

// start runs a new batch once admitted, or ends its shares with the refusal.
func (c *Carrier) start(ctx context.Context, b *batch, deadline time.Time, want int) {
	release, err := c.admit(ctx, deadline, b.key.query, want)
	if err != nil {
		c.buying().drop(b, err)
		c.unbought(b)
		return
	}
	go func() {
		defer release()
		c.runBatch(b)
	}()
}

// claimEnded records that a share's key claim is over (claimed, redirected or failed).
func (by *buyer) claimEnded(b *batch) {
	by.mu.Lock()
	b.claiming--
	by.mu.Unlock()
}

// claimed records that a search key was claimed for b's order.
func (by *buyer) claimed(b *batch) {
	by.mu.Lock()
	b.claimed = true
	by.mu.Unlock()
}

// unbought writes the failed row of a batch that ends without buying, when a search key
// names its order, so that a retry of that search (here or on another instance) moves on.
func (c *Carrier) unbought(b *batch) {
	by := c.buying()
	by.mu.Lock()
	claimed := b.claimed
	by.mu.Unlock()
	if !claimed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.settings.RequestTimeout)
	defer cancel()
	if err := c.tombstone(ctx, b.orderID); err != nil && !knm.IsErrorName(err, knm.ErrConflict) {
		c.log.Warn("knm_voxbone: row of an unbought order not written; a retry of its key waits for it",
			"order", b.orderID, "error", err)
	}
}

// buying returns the buyer shared by the carriers of the account.
func (c *Carrier) buying() *buyer {
	res := c.reservations
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.buyer == nil {
		res.buyer = newBuyer()
	}
	return res.buyer
}

// await waits for sh's rows. A caller that gives up after the checkout was sent is told
// which order delivers its numbers (they are held for its account); one that gives up while
// the gathered batch fills its cart waits until the checkout is sent or abandoned to know
// which; before, it simply leaves, and the batch buys nothing for it.
func (c *Carrier) await(ctx context.Context, opts knm.SearchOptions, sh *share) ([]knm.SearchRow, error) {
	select {
	case <-sh.done:
		return sh.rows, sh.err
	case <-ctx.Done():
	}
	by := c.buying()
	by.leave(sh)
	by.mu.Lock()
	order, handing, gathered := sh.b.order, sh.handing, sh.b.closed
	by.mu.Unlock()
	if order == "" && gathered && !handing { // its share is in the cart: is it being bought?
		<-sh.b.decided
		by.mu.Lock()
		order, handing = sh.b.order, sh.handing
		by.mu.Unlock()
	}
	if handing { // the rows were bought for this caller, not held: take them
		<-sh.done
		return sh.rows, sh.err
	}
	if order == "" {
		return nil, carrierError("voxbone purchase", ctx.Err())
	}
	return nil, heldError(order, opts.AccountID)
}

// heldError says that order delivers a search's numbers after the search answered.
func heldError(order, account string) error {
	return knm.Errorf(knm.ErrUnavailable, "voxbone order %s was sent for this search and is still settling; "+
		"its numbers will be held for account %s", order, account).WithCause(order)
}

// runBatch gathers searches for the coalescing window, then buys for those still waiting,
// in one journalled order whose payload names every share.
func (c *Carrier) runBatch(b *batch) {
	defer b.settle()
	by := c.buying()
	select {
	case <-time.After(c.settings.CoalesceWindow):
	case <-b.ctx.Done():
	}
	by.mu.Lock()
	if by.open[b.key] == b {
		delete(by.open, b.key) // no search joins any more
	}
	for b.claiming > 0 { // a share whose key may name an earlier order is not bought for yet
		by.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		by.mu.Lock()
	}
	b.closed = true
	var members []orderMember
	total := 0
	for _, sh := range b.shares {
		if sh.waiters <= 0 || sh.ended() {
			by.end(sh, nil, errors.New("the caller left before the purchase"))
			continue
		}
		b.active = append(b.active, sh)
		members = append(members, orderMember{Key: sh.key, Account: sh.account, Request: sh.request, Want: sh.want})
		total += sh.want
	}
	by.mu.Unlock()
	if total == 0 {
		b.cancel()
		c.unbought(b)
		return
	}
	defer b.cancel()
	err := c.buyBatch(b, members, total)
	by.mu.Lock()
	defer by.mu.Unlock()
	for _, sh := range b.shares {
		serr := shortErr(sh.want, len(sh.rows))
		if serr != nil && err != nil {
			serr = err
		}
		by.end(sh, sh.rows, serr)
	}
}

// buyBatch journals and runs the batch's order. Its shares are settled by distribute as the
// order's DIDs are imported; what is left unsettled gets the error returned.
func (c *Carrier) buyBatch(b *batch, members []orderMember, total int) error {
	c.flights.begin(b.orderID) // recovery leaves it to this process while it runs
	defer c.flights.end(b.orderID)
	o, err := c.createOrder(b.ctx, orderPayload{OrderID: b.orderID, QueryID: b.queryID, Members: members,
		RouteFor: b.routeFor, RouteReseller: b.routeReseller})
	if err != nil {
		return err
	}
	o.live = b
	o.onCheckout = func() { c.buying().committed(b) }
	o, short, err := c.prepare(b.ctx, buyRequest{Query: b.key.query, Want: total, Order: o, Shares: len(members),
		Description: b.queryID})
	if err != nil || o == nil {
		return errors.Join(short, err)
	}
	c.buying().planned(b.key.query, len(o.Plan))
	_, err = c.execute(b.ctx, o)
	if err != nil && o.state().MaySpend() {
		err = fmt.Errorf("%w (the order's numbers will be held for the searching accounts)", err)
	}
	return errors.Join(short, err)
}
