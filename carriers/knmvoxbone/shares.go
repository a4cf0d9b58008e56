package knmvoxbone

// The buyer's bookkeeping of shares: which search waits for which batch, and how a share ends.

import (
	"context"
	"slices"

	"github.com/knmproject/knm"
)

// attach returns the share of an unfinished order for key, with the caller added to its
// waiters, or nil.
func (by *buyer) attach(key string, opts knm.SearchOptions) (*share, error) {
	if key == "" {
		return nil, nil
	}
	by.mu.Lock()
	defer by.mu.Unlock()
	return by.attachLocked(key, opts)
}

// attachLocked is attach with by.mu held. The caller's Idempotency-Key held by a running
// search that asked something else is an invalid error: its order may not be journalled
// yet, and in the same batch claimSearchKey would take the key as the caller's own.
func (by *buyer) attachLocked(key string, opts knm.SearchOptions) (*share, error) {
	if key == "" {
		return nil, nil
	}
	sh := by.byKey[key]
	if sh != nil && sh.request != searchRequest(opts) && opts.IdempotencyKey != "" {
		return nil, knm.Errorf(knm.ErrInvalid, "Idempotency-Key reused for a different search (still running)").
			WithCause(knm.IdempotencyKeyCause)
	}
	if sh == nil || sh.request != searchRequest(opts) {
		return nil, nil
	}
	sh.waiters++
	if opts.Progress != nil {
		sh.progress = append(sh.progress, opts.Progress)
		if sh.b.order != "" {
			opts.Progress.Committed(sh.b.order)
		}
	}
	return sh, nil
}

// join adds a share of want DIDs to the batch gathering for q and returns it, with the batch
// when the caller created it and must start it (after admission). When the same search
// (key and request) has a share already, the caller waits on that one instead (attached).
func (by *buyer) join(bk batchKey, key string, opts knm.SearchOptions, want int) (*share, *batch, bool, error) {
	by.mu.Lock()
	defer by.mu.Unlock()
	if sh, err := by.attachLocked(key, opts); sh != nil || err != nil {
		return sh, nil, sh != nil, err
	}
	b := by.open[bk]
	created := b == nil
	if created {
		ctx, cancel := context.WithCancel(context.Background())
		b = &batch{key: bk, orderID: newOrderID(), queryID: opts.QueryID, ctx: ctx, cancel: cancel,
			routeFor: opts.AccountID, routeReseller: opts.ResellerID, decided: make(chan struct{})}
		by.open[bk] = b
	}
	sh := &share{b: b, key: key, account: opts.AccountID, request: searchRequest(opts), want: want, waiters: 1,
		done: make(chan struct{})}
	if opts.Progress != nil {
		sh.progress = []knm.SearchProgress{opts.Progress}
	}
	b.shares = append(b.shares, sh)
	if key != "" && opts.IdempotencyKey != "" {
		b.claiming++ // until claimEnded
	}
	if key != "" && by.byKey[key] == nil {
		by.byKey[key] = sh
	}
	if created {
		return sh, b, false, nil
	}
	return sh, nil, false, nil
}

// drop removes a batch that was refused before it started; its shares end with why.
func (by *buyer) drop(b *batch, why error) {
	by.mu.Lock()
	defer by.mu.Unlock()
	if by.open[b.key] == b {
		delete(by.open, b.key)
	}
	b.closed = true
	b.cancel()
	b.settle()
	for _, sh := range b.shares {
		by.end(sh, nil, why)
	}
}

// leave takes one waiting caller off sh. A batch none of whose callers waits any more is
// cancelled if its checkout was not sent: nothing is bought for nobody.
func (by *buyer) leave(sh *share) {
	by.mu.Lock()
	defer by.mu.Unlock()
	sh.waiters--
	cancelIfUnwaited(sh.b)
}

// cancelIfUnwaited cancels b when its checkout was not sent and none of its callers waits
// any more. The caller holds by.mu.
func cancelIfUnwaited(b *batch) {
	if b.order != "" || slices.ContainsFunc(b.shares, func(o *share) bool { return o.waiters > 0 }) {
		return
	}
	b.cancel()
}

// keyClaimed ends a share whose search key an earlier order claimed: its callers wait for
// that order instead.
type keyClaimed struct{ order string }

func (k *keyClaimed) Error() string { return "the search key belongs to voxbone order " + k.order }

// redirect ends sh, whose key an earlier order claimed (first) or could not be claimed (err),
// so that no caller waits on it (a retry may have attached meanwhile) and the batch buys
// nothing for it; a batch nobody else waits for is cancelled.
func (by *buyer) redirect(sh *share, first string, err error) {
	by.mu.Lock()
	defer by.mu.Unlock()
	if err == nil {
		err = &keyClaimed{order: first}
	}
	sh.waiters = 0
	by.end(sh, nil, err)
	cancelIfUnwaited(sh.b)
}

// end settles sh (once) with what it gets. The caller holds by.mu.
func (by *buyer) end(sh *share, rows []knm.SearchRow, err error) {
	if sh.ended() {
		return
	}
	sh.rows, sh.err = rows, err
	close(sh.done)
	if by.byKey[sh.key] == sh {
		delete(by.byKey, sh.key)
	}
}

// ended reports whether sh was settled already (redirected to an earlier order).
func (sh *share) ended() bool {
	select {
	case <-sh.done:
		return true
	default:
		return false
	}
}

// committed records that b's checkout was sent and tells every waiting caller.
func (by *buyer) committed(b *batch) {
	by.mu.Lock()
	defer by.mu.Unlock()
	b.order = b.orderID
	b.settle()
	for _, sh := range b.shares {
		for _, p := range sh.progress {
			p.Committed(b.orderID)
		}
	}
}
