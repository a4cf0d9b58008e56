package knmvoxbone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/knmproject/knm"
)

// orderMember is one search an order buys for (a coalesced order has several): what it
// asked, and the numbers it got.
type orderMember struct {
	Key     string   `json:"key,omitempty"` // the search key (see searchKey)
	Account string   `json:"account,omitempty"`
	Request string   `json:"request,omitempty"`
	Want    int      `json:"want"`
	Numbers []string `json:"numbers,omitempty"`
	// Held is set when some of Numbers were held for Account: its caller had gone.
	Held bool `json:"held,omitempty"`
}

// HoldCarrier is the journal carrier of hold rows: numbers bought for a search that had
// answered, reserved for its account until the hold expires.
const HoldCarrier = ModuleName + ".hold"

// Hold row states.
const (
	holdActive   = "held"
	holdReleased = "released"
)

// holdPayload is a hold row's payload: the numbers held and the revision each had once held,
// so that expiry never undoes a change made since (an activation, a release).
type holdPayload struct {
	Order   string           `json:"order"`
	Account string           `json:"account"`
	Until   time.Time        `json:"until"`
	Numbers map[string]int64 `json:"numbers"`
	// Digests are the held numbers as stored once held, without revision, modification time
	// and carrier data (see holdDigest): a later routing mark is knm_voxbone's, not a change.
	Digests map[string]string `json:"digests,omitempty"`
}

// holdDigest sums a number without the fields that knm_voxbone's own writes change (its
// carrier data: routing marks, DIDs as read back), so that they do not keep a hold forever.
func holdDigest(n *knm.Number) string {
	c := n.Clone()
	c.Rev, c.Modified, c.CarrierData = 0, time.Time{}, nil
	raw, _ := json.Marshal(c)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// unchanged reports whether n is as the hold left it, but for knm_voxbone's own writes.
func (p *holdPayload) unchanged(n *knm.Number) bool {
	if n.Rev == p.Numbers[n.Number] {
		return true
	}
	d, ok := p.Digests[n.Number]
	return ok && d == holdDigest(n)
}

// distribute hands the numbers an order brought into knm to its members in order, up to what
// each wanted: to the caller still waiting for them, or else held for the member's account.
// Numbers of the order already reserved for a member's account (held by another instance
// that took the order over, or by an attempt whose split was not recorded) are that member's.
// Members of an order recovered after a crash have no caller: theirs are all held. The split
// is in o.Members, which the caller writes with the order's next state.
func (c *Carrier) distribute(ctx context.Context, o *order, rows []knm.SearchRow) {
	if len(o.Members) == 0 {
		return
	}
	taken := map[string]bool{}
	for _, m := range o.Members {
		for _, n := range m.Numbers {
			taken[n] = true
		}
	}
	var free []knm.SearchRow
	heldFor := map[string][]knm.SearchRow{} // reserved already for an account (by another attempt)
	for _, r := range rows {
		switch {
		case taken[r.Number]:
		case r.State == knm.StateAvailable:
			free = append(free, r)
		case r.State == knm.StateReserved:
			if n, err := c.store.GetNumber(ctx, r.Number); err == nil && n.AssignedTo != "" {
				heldFor[n.AssignedTo] = append(heldFor[n.AssignedTo], r)
			}
		}
	}
	for i := range o.Members {
		m := &o.Members[i]
		mine := heldFor[m.Account]
		k := min(max(m.Want-len(m.Numbers), 0), len(mine))
		got := slices.Clone(mine[:k])
		heldFor[m.Account] = mine[k:]
		n := min(max(m.Want-len(m.Numbers)-k, 0), len(free))
		got = append(got, free[:n]...)
		free = free[n:]
		for _, r := range got {
			m.Numbers = append(m.Numbers, r.Number)
		}
		if got = c.handOver(ctx, o, i, got); len(got) > 0 && got[0].State == knm.StateReserved {
			m.Held = true
		}
	}
}

// handOver gives member i's new rows to its waiting caller, or holds them for its account,
// and returns them as the caller or the hold has them.
func (c *Carrier) handOver(ctx context.Context, o *order, i int, got []knm.SearchRow) []knm.SearchRow {
	m := o.Members[i]
	var sh *share
	if o.live != nil && i < len(o.live.active) {
		sh = o.live.active[i]
	}
	by := c.buying()
	if sh != nil {
		by.mu.Lock()
		if sh.waiters > 0 { // the batch answers the caller with them once the order is settled
			sh.handing = true
			sh.rows = append(sh.rows, got...)
			by.mu.Unlock()
			by.deliver(got, m.Account, c.now().Add(c.settings.HoldTTL))
			return got
		}
		by.mu.Unlock()
	}
	if len(got) > 0 {
		got = c.hold(ctx, o.OrderID, i, m.Account, got)
	}
	if sh != nil {
		by.mu.Lock()
		sh.rows = append(sh.rows, got...)
		by.mu.Unlock()
	}
	return got
}

// shortErr says a search got fewer numbers than it wanted, or nil.
func shortErr(want, got int) error {
	if got >= want {
		return nil
	}
	return knm.Errorf(knm.ErrUnavailable, "voxbone delivered %d of the %d DIDs this search bought", got, want)
}

// hold reserves rows for account until the hold expires (hold_ttl_minutes), journalled so
// that expiry can give them back to the pool. Rows taken meanwhile (no longer available and
// unassigned) are skipped. Without an account the rows stay in the pool.
func (c *Carrier) hold(ctx context.Context, orderID string, member int, account string,
	rows []knm.SearchRow) []knm.SearchRow {
	if account == "" {
		c.log.Warn("knm_voxbone: numbers bought for a search without account; left in the pool",
			"order", orderID, "count", len(rows))
		return rows
	}
	p := holdPayload{Order: orderID, Account: account, Until: c.now().Add(c.settings.HoldTTL),
		Numbers: map[string]int64{}, Digests: map[string]string{}}
	var held []knm.SearchRow
	for _, r := range rows {
		n, err := c.store.GetNumber(ctx, r.Number)
		if err != nil || n.State != knm.StateAvailable || n.AssignedTo != "" || n.ModuleName != ModuleName {
			continue
		}
		next := n.Clone()
		next.State, next.AssignedTo = knm.StateReserved, account
		next.ReserveHistory = append([]string{account}, next.ReserveHistory...)
		if err := c.store.UpdateNumber(ctx, next); err != nil {
			c.log.Warn("knm_voxbone: hold failed", "order", orderID, "number", r.Number, "error", err)
			continue
		}
		p.Numbers[n.Number] = next.Rev
		if got, err := c.store.GetNumber(ctx, n.Number); err == nil && got.Rev == next.Rev {
			p.Digests[n.Number] = holdDigest(got) // as stored: a store may normalise JSON
		}
		held = append(held, knm.SearchRow{Number: n.Number, Module: ModuleName, State: knm.StateReserved,
			CarrierData: n.CarrierData})
	}
	if len(held) == 0 {
		return nil
	}
	raw, _ := json.Marshal(p)
	now := c.now()
	id := "hold-" + orderID + "-" + strconv.Itoa(member) + "-" + held[0].Number
	if err := c.store.CreateJournal(ctx, &knm.JournalEntry{ID: id, Carrier: HoldCarrier, State: holdActive,
		Payload: raw, Created: now, Updated: now}); err != nil {
		c.log.Warn("knm_voxbone: hold row not written; the numbers stay reserved", "order", orderID, "error", err)
	}
	c.log.Info("knm_voxbone: numbers bought for a search that had answered are held for its account",
		"order", orderID, "account", account, "count", len(held), "until", p.Until)
	return held
}

// ReleaseExpiredHolds returns to the pool the held numbers whose hold expired and that were
// not changed since (activated, released, edited), and returns how many it returned.
func (c *Carrier) ReleaseExpiredHolds(ctx context.Context) (int, error) {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: HoldCarrier, States: []string{holdActive}})
	if err != nil {
		return 0, err
	}
	released := 0
	var errs []error
	for _, e := range es {
		var p holdPayload
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			errs = append(errs, fmt.Errorf("hold %s: %w", e.ID, err))
			continue
		}
		if c.now().Before(p.Until) {
			continue
		}
		for num := range p.Numbers {
			n, err := c.store.GetNumber(ctx, num)
			if err != nil || !p.unchanged(n) || n.State != knm.StateReserved || n.AssignedTo != p.Account {
				continue // gone or changed on purpose since
			}
			next := n.Clone()
			next.State, next.AssignedTo, next.PreviouslyAssignedTo = knm.StateAvailable, "", p.Account
			if err := c.store.UpdateNumber(ctx, next); err != nil {
				errs = append(errs, fmt.Errorf("hold %s: %s: %w", e.ID, num, err))
				continue
			}
			released++
		}
		e.State, e.Updated = holdReleased, c.now()
		if err := c.store.UpdateJournal(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("hold %s: %w", e.ID, err))
		}
	}
	return released, errors.Join(errs...)
}

// held returns up to want knm_voxbone numbers reserved for account with the prefix: its
// holds, offered to its next search before the public pool.
func (c *Carrier) held(ctx context.Context, account, prefix string, want int) ([]*knm.Number, error) {
	if account == "" {
		return nil, nil
	}
	return c.store.FindNumbers(ctx, knm.NumberFilter{AssignedTo: &account, States: []knm.State{knm.StateReserved},
		Module: ModuleName, Prefix: prefix, Limit: want})
}

// fromJournal answers a search whose key names a member of an unfinished order in the
// journal (placed before a restart, or by another instance): it waits for that order.
func (c *Carrier) fromJournal(ctx context.Context, opts knm.SearchOptions,
	key string) ([]knm.SearchRow, bool, error) {
	if key == "" {
		return nil, false, nil
	}
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName, States: unfinishedStates})
	if err != nil {
		return nil, false, err
	}
	for _, e := range es {
		o, err := decodeOrder(e)
		if err != nil || !slices.ContainsFunc(o.Members, func(m orderMember) bool {
			return m.Key == key && m.Request == searchRequest(opts)
		}) {
			continue
		}
		rows, err := c.awaitOrder(ctx, opts, o.OrderID, key)
		return rows, true, err
	}
	return nil, false, nil
}

// awaitOrder waits until order is final (or awaiting delivery) and returns the numbers of
// its member key that are still the account's or in the pool. A caller that gives up is told
// the order that holds its numbers.
func (c *Carrier) awaitOrder(ctx context.Context, opts knm.SearchOptions, id, key string) ([]knm.SearchRow, error) {
	for {
		e, err := c.store.GetJournal(ctx, id)
		if err != nil {
			return nil, err
		}
		o, err := decodeOrder(e)
		if err != nil {
			return nil, err
		}
		if o.state().MaySpend() {
			opts.Committed(id)
		}
		if o.state().Final() || o.state() == StateAwaitingDelivery {
			return c.memberRows(ctx, o, key, opts.AccountID)
		}
		select {
		case <-ctx.Done():
			if o.state().MaySpend() {
				return nil, heldError(id, opts.AccountID)
			}
			return nil, carrierError("voxbone order "+id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// memberRows returns the numbers order o got for member key that are still account's or in
// the pool, as a search offers them.
func (c *Carrier) memberRows(ctx context.Context, o *order, key, account string) ([]knm.SearchRow, error) {
	i := slices.IndexFunc(o.Members, func(m orderMember) bool { return m.Key == key })
	if i < 0 {
		return nil, nil
	}
	var rows []knm.SearchRow
	for _, num := range o.Members[i].Numbers {
		n, err := c.store.GetNumber(ctx, num)
		if err != nil {
			continue // released since
		}
		if n.ModuleName == ModuleName && (n.AssignedTo == account || n.AssignedTo == "") {
			rows = append(rows, knm.SearchRow{Number: n.Number, Module: ModuleName, State: n.State,
				CarrierData: n.CarrierData})
		}
	}
	if o.state() == StateFailed && len(rows) == 0 {
		return nil, carrierError("voxbone order "+o.OrderID, errors.New(o.Error))
	}
	if m := o.Members[i]; len(rows) < m.Want && len(m.Numbers) > len(rows) {
		return rows, knm.Errorf(knm.ErrUnavailable, "voxbone order %s delivered the %d numbers of this search; "+
			"%d of them are no longer available to this account (its hold expired, or they were released "+
			"or taken since)", o.OrderID, len(m.Numbers), len(m.Numbers)-len(rows))
	}
	return rows, shortErr(o.Members[i].Want, len(rows))
}

// claimSearchKey claims the search's Idempotency-Key for sh's order. It returns "" when the
// key is now that order's, or the order that claimed it first, unless that one bought
// nothing and never will (then the key goes on, derived, as a native order's does).
func (c *Carrier) claimSearchKey(ctx context.Context, key string, sh *share) (string, error) {
	k := "voxbone.search:" + key
	for range maxKeyHops {
		first, claimed, err := c.store.ClaimIdempotencyKey(ctx, k, sh.b.orderID)
		if err != nil || claimed || first == sh.b.orderID {
			return "", err
		}
		e, err := c.keyOrderRow(ctx, first)
		if err != nil {
			return "", err
		}
		fo, err := decodeOrder(e)
		if err != nil {
			return "", err
		}
		if fo.state() == StateFailed && fo.CheckoutAt == nil {
			k += "@" + first
			continue
		}
		same := func(m orderMember) bool { return m.Key == key && m.Request == sh.request }
		if !slices.ContainsFunc(fo.Members, same) {
			return "", knm.Errorf(knm.ErrInvalid, "Idempotency-Key reused for a different search (order %s)", first).
				WithCause(knm.IdempotencyKeyCause)
		}
		return first, nil
	}
	return "", knm.Errorf(knm.ErrConflict, "Idempotency-Key has been retried after %d failed orders; use a new key",
		maxKeyHops).WithCause(knm.IdempotencyKeyCause)
}

// keyOrderRow returns the journal row of the order that claimed a search key. Its batch
// (here or on another instance) writes it once gathered, or a failed row when it bought
// nothing; a row still missing after that (its process died) is written here as failed, so
// that the key moves on and the late claimer can no longer buy under it.
func (c *Carrier) keyOrderRow(ctx context.Context, id string) (*knm.JournalEntry, error) {
	until := time.Now().Add(c.settings.CoalesceWindow + c.settings.RequestTimeout)
	for {
		e, err := c.store.GetJournal(ctx, id)
		if !knm.IsErrorName(err, knm.ErrNotFound) {
			return e, err
		}
		if time.Now().After(until) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := c.tombstone(ctx, id); err != nil && !knm.IsErrorName(err, knm.ErrConflict) {
		return nil, err
	}
	return c.store.GetJournal(ctx, id)
}

// tombstone writes the failed row of an order that bought nothing before its row was
// written (its searches left, it was refused, its process died), so that a search key
// claimed for it moves on. It is a conflict when the order's row exists.
func (c *Carrier) tombstone(ctx context.Context, id string) error {
	raw, err := json.Marshal(orderPayload{OrderID: id, Account: c.account, Duplicate: true, // not listed
		Error: "its searches ended before the purchase; nothing was bought"})
	if err != nil {
		return err
	}
	now := c.now()
	return c.store.CreateJournal(ctx, &knm.JournalEntry{ID: id, Carrier: ModuleName, State: string(StateFailed),
		Payload: raw, Created: now, Updated: now, Owner: c.owner()})
}
