package knmvoxbone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// DisconnectNumber releases the number at Voxbone: it looks the exact E.164 up (every page
// of GET inventory/did?e164Pattern=), requires exactly one DID with that e164, cancels it
// (POST ordering/cancel) and checks numberCancelled is 1. Any failure is returned and the
// manager keeps the number, so that knm never drops a number Voxbone still bills. The
// cancel is never retried: a lost answer is settled by looking the DID up again.
func (c *Carrier) DisconnectNumber(ctx context.Context, n *knm.Number) error {
	num := n.Number
	if !strings.HasPrefix(num, "+") {
		num = "+" + num
	}
	match, err := c.lookupDID(ctx, num)
	if err != nil {
		return err
	}
	switch len(match) {
	case 0:
		return c.alreadyGone(ctx, n, num)
	case 1:
	default:
		return knm.Errorf(knm.ErrCarrier, "voxbone: %d DIDs match %s exactly; not cancelled", len(match), num).
			WithCause("ambiguous DID")
	}
	// The cancel is journalled before it is sent, so that a later release that no longer
	// finds the DID knows the cancel was knm's own.
	rec, err := c.journalCancel(ctx, match[0].DIDID, num)
	if err != nil {
		return err
	}
	// From here on the work is detached from ctx: a client hanging up must not leave knm
	// unsure whether Voxbone cancelled, keeping a number Voxbone no longer bills.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTimeout)
	defer cancel()
	return c.cancelDID(dctx, rec, match[0].DIDID, num)
}

// cancelDID sends the cancel of DID id (number num), whose row rec says sent, and records
// its outcome. An answer lost or misreported is checked by looking the DID up again.
func (c *Carrier) cancelDID(ctx context.Context, rec *knm.JournalEntry, id int, num string) error {
	cancelled, err := c.client.CancelDIDs(ctx, []int{id})
	if err == nil && cancelled == 1 {
		c.markCancel(ctx, rec, cancelDone)
		c.log.Info("knm_voxbone: DID cancelled", "number", num, "did_id", id)
		return nil
	}
	if !voxbone.IsRateLimited(err) {
		if again, lerr := c.lookupDID(ctx, num); lerr == nil && len(again) == 0 {
			c.log.Warn("knm_voxbone: cancel not confirmed but the DID is gone; cancelled", "number", num, "did_id", id,
				"error", err, "number_cancelled", cancelled)
			c.markCancel(ctx, rec, cancelDone)
			return nil
		}
	}
	if err == nil || refusedByVoxbone(err) {
		// Voxbone answered that it cancelled nothing: the row must not later pass for a
		// cancel knm sent.
		c.markCancel(ctx, rec, cancelRefused)
	}
	if err != nil {
		return carrierError(fmt.Sprintf("voxbone: cancel %s (DID %d)", num, id), err)
	}
	return knm.Errorf(knm.ErrCarrier, "voxbone: cancel %s (DID %d): numberCancelled is %d, want 1", num, id, cancelled)
}

// refusedByVoxbone reports whether Voxbone answered a cancel with a definite refusal (any 4xx,
// 429 and 509 included), so nothing was cancelled. No answer, a 5xx or a timeout leave the
// outcome unknown.
func refusedByVoxbone(err error) bool {
	var ve *voxbone.Error
	if !errors.As(err, &ve) {
		return false
	}
	return ve.HTTPStatus >= 400 && ve.HTTPStatus < 500 || ve.HTTPStatus == 509
}

// journalCancel writes the cancel row of DID id, sent by this account, before the cancel is
// sent; a row an earlier attempt wrote is reused. Without the row the cancel is not sent.
func (c *Carrier) journalCancel(ctx context.Context, id int, num string) (*knm.JournalEntry, error) {
	raw, err := json.Marshal(cancelPayload{DIDID: id, Number: num, Account: c.account})
	if err != nil {
		return nil, err
	}
	now := c.now()
	e := &knm.JournalEntry{ID: cancelRowID(id), Carrier: ModuleName, State: cancelSent, Payload: raw,
		Created: now, Updated: now, Owner: c.owner()}
	err = c.store.CreateJournal(ctx, e)
	if knm.IsErrorName(err, knm.ErrConflict) {
		// An earlier release of this DID did not finish. Unless its row already says sent
		// by this account, it is written again as such: an earlier refusal must not hide
		// the cancel about to go out.
		prev, gerr := c.store.GetJournal(ctx, e.ID)
		if gerr == nil && prev.Carrier == ModuleName {
			if prev, gerr = c.claimCancel(ctx, prev); gerr != nil {
				return nil, fmt.Errorf("knm_voxbone: cancel of DID %d (%s); not cancelled: %w", id, num, gerr)
			}
			var pp cancelPayload
			ours := json.Unmarshal(prev.Payload, &pp) == nil && pp.DIDID == id && pp.Account == c.account
			if prev.State == cancelSent && ours {
				return prev, nil
			}
			next := *prev
			next.State, next.Payload, next.Updated = cancelSent, raw, now
			if err = c.store.UpdateJournal(ctx, &next); err == nil {
				return &next, nil
			}
		} else {
			err = errors.Join(err, gerr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("knm_voxbone: journal cancel of DID %d (%s); not cancelled: %w", id, num, err)
	}
	return e, nil
}

// claimCancel makes this instance the owner of an earlier cancel row of the same DID, which
// another instance may still be sending: then the cancel is refused for now.
func (c *Carrier) claimCancel(ctx context.Context, prev *knm.JournalEntry) (*knm.JournalEntry, error) {
	if prev.Owner == c.owner() {
		return prev, nil
	}
	live, err := c.liveInstances(ctx)
	if err != nil {
		return nil, err
	}
	taken, ok, err := c.claim(ctx, prev, live)
	if err == nil && !ok {
		err = knm.Errorf(knm.ErrConflict, "instance %s is cancelling it now", prev.Owner)
	}
	return taken, err
}

// markCancel writes the cancel row in state done or refused. A failure is only logged: a row
// left sent is trusted only by its own account, which no longer lists a cancelled DID and
// still lists one that was not.
func (c *Carrier) markCancel(ctx context.Context, e *knm.JournalEntry, state string) {
	if e.State == state {
		return
	}
	next := *e
	next.State, next.Updated = state, c.now()
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		c.log.Warn("knm_voxbone: journal write after a cancel failed", "cancel", e.ID, "state", state, "error", err)
	}
}

// ownCancel reports whether knm sent the cancel of DID id itself: its row says the cancel
// was confirmed, or was sent from this very account (which no longer lists the DID, so it
// went through).
func (c *Carrier) ownCancel(ctx context.Context, id int) (bool, error) {
	e, err := c.store.GetJournal(ctx, cancelRowID(id))
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return false, nil
	}
	if err != nil || e.Carrier != ModuleName {
		return false, err
	}
	var p cancelPayload
	if json.Unmarshal(e.Payload, &p) != nil || p.DIDID != id {
		return false, nil
	}
	return e.State == cancelDone || e.State == cancelSent && p.Account == c.account, nil
}

// alreadyGone decides a release whose number Voxbone no longer lists. It may finish only
// when the DID id knm recorded at purchase is not in the account either and knm journalled
// a cancel of that DID itself (an earlier release whose answer, or end, was lost).
// Otherwise, since the carrier may talk to another account than the one that bills the
// number, it is refused.
func (c *Carrier) alreadyGone(ctx context.Context, n *knm.Number, num string) error {
	var data struct {
		DIDID int `json:"didId"`
	}
	if json.Unmarshal(n.CarrierData, &data) != nil || data.DIDID <= 0 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: %s is not in the Voxbone account and knm has no DID id for it; "+
			"not released", num).WithCause("no matching DID")
	}
	dids, _, err := c.client.ListDIDs(ctx, voxbone.ListDIDsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}, DIDIDs: []int{data.DIDID}})
	if err != nil {
		return carrierError(fmt.Sprintf("voxbone: look up DID %d of %s", data.DIDID, num), err)
	}
	if len(dids) > 0 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: DID %d of %s is listed as %s; not cancelled",
			data.DIDID, num, dids[0].E164).WithCause("DID number mismatch")
	}
	own, err := c.ownCancel(ctx, data.DIDID)
	if err != nil {
		return fmt.Errorf("knm_voxbone: journal of cancels: %w", err)
	}
	if !own {
		return knm.Errorf(knm.ErrCarrier, "voxbone: %s (DID %d) is not in this Voxbone account; "+
			"knm did not cancel it, so it is not released — run knm voxbone reconcile", num, data.DIDID).
			WithCause("DID not in this account")
	}
	c.log.Warn("knm_voxbone: DID already cancelled at Voxbone by knm; releasing", "number", num, "did_id", data.DIDID)
	return nil
}

// lookupDID returns the account's DIDs whose e164 is exactly num (every page of
// inventory/did?e164Pattern=num, which matches substrings).
func (c *Carrier) lookupDID(ctx context.Context, num string) ([]voxbone.DID, error) {
	dids, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}, E164Pattern: num})
	if err != nil {
		return nil, carrierError("voxbone: look up "+num, err)
	}
	var match []voxbone.DID
	for _, d := range dids {
		if strings.TrimPrefix(d.E164, "+") == strings.TrimPrefix(num, "+") {
			match = append(match, d)
		}
	}
	return match, nil
}
