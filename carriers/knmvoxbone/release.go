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

// DisconnectNumber cancels the number at Voxbone: it looks the exact E.164 up
// (GET inventory/did?e164Pattern=+E164, every page), requires exactly one DID whose e164
// equals the number, cancels that DID (POST ordering/cancel {"didIds":[id]}) and checks
// numberCancelled == 1. Any failure is returned and the number is left as it was: the
// manager then keeps it, so a number is never dropped from knm while Voxbone still bills it.
// The cancel itself is never retried (a lost answer is settled by looking the DID up again).
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
		return knm.Errorf(knm.ErrCarrier, "voxbone: %d DIDs match %s exactly; not cancelled", len(match), num).WithCause("ambiguous DID")
	}
	id := match[0].DIDID
	// The cancel is journalled before it is sent: a later release that no longer finds the
	// DID may then finish, knowing the cancel was knm's own (see alreadyGone).
	rec, err := c.recordCancel(ctx, id, num)
	if err != nil {
		return err
	}
	// From the cancel on, the work is detached from ctx (bounded like a checkout's
	// settling): a client hanging up must not leave knm unsure whether Voxbone cancelled,
	// and so keeping a number Voxbone no longer bills.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTimeout)
	defer cancel()
	cancelled, err := c.client.CancelDIDs(dctx, []int{id})
	if err == nil && cancelled == 1 {
		c.cancelDone(dctx, rec)
		c.log.Info("knm_voxbone: DID cancelled", "number", num, "did_id", id)
		return nil
	}
	if !voxbone.IsRateLimited(err) {
		// The answer may be lost while the cancel happened (a dropped connection, a 5xx
		// after the fact), or a numberCancelled other than 1 may misreport it: look again,
		// and if the DID is gone the cancel did happen.
		if again, lerr := c.lookupDID(dctx, num); lerr == nil && len(again) == 0 {
			c.log.Warn("knm_voxbone: cancel not confirmed but the DID is gone; cancelled", "number", num, "did_id", id,
				"error", err, "number_cancelled", cancelled)
			c.cancelDone(dctx, rec)
			return nil
		}
	}
	if err == nil || cancelRefused(err) {
		// Voxbone answered that it did not cancel (numberCancelled 0, a 4xx, 429/509): the
		// row must not later pass for a cancel knm sent (see ownCancel).
		c.cancelNotDone(dctx, rec)
	}
	if err != nil {
		return carrierError(fmt.Sprintf("voxbone: cancel %s (DID %d)", num, id), err)
	}
	return knm.Errorf(knm.ErrCarrier, "voxbone: cancel %s (DID %d): numberCancelled is %d, want 1", num, id, cancelled)
}

// cancelRefused reports whether a failed cancel was answered by Voxbone with a definite
// refusal (any 4xx, 429 and 509 included), so nothing was cancelled. Anything else (no
// answer, a 5xx, a timeout) leaves the outcome unknown.
func cancelRefused(err error) bool {
	var ve *voxbone.Error
	if !errors.As(err, &ve) {
		return false
	}
	return ve.HTTPStatus >= 400 && ve.HTTPStatus < 500 || ve.HTTPStatus == 509
}

// Journal rows of cancels: id cancelPrefix+didId, carrier knm_voxbone, state cancelSent
// (written before POST ordering/cancel) then cancelDone (after Voxbone confirmed it, or
// the DID is gone) or cancelRefused (Voxbone answered that it cancelled nothing). A row
// left sent means the outcome is unknown (no answer, a 5xx).
// They are no orders: ListOrders and GetOrder leave them out.
const (
	cancelPrefix       = "cancel-"
	cancelSent         = "sent"
	cancelDone         = "done"
	cancelRefusedState = "refused"
)

// cancelPayload is a cancel row's payload.
type cancelPayload struct {
	DIDID   int    `json:"did_id"`
	Number  string `json:"number"`
	Account string `json:"fingerprint"`
}

func isCancelRow(e *knm.JournalEntry) bool { return strings.HasPrefix(e.ID, cancelPrefix) }

// recordCancel writes the cancel row of DID id (state sent) before the cancel is sent, or
// returns the row an earlier attempt wrote. Without it the cancel is not sent.
func (c *Carrier) recordCancel(ctx context.Context, id int, num string) (*knm.JournalEntry, error) {
	raw, err := json.Marshal(cancelPayload{DIDID: id, Number: num, Account: c.account})
	if err != nil {
		return nil, err
	}
	now := c.now()
	e := &knm.JournalEntry{ID: fmt.Sprintf("%s%d", cancelPrefix, id), Carrier: ModuleName, State: cancelSent,
		Payload: raw, Created: now, Updated: now}
	err = c.store.CreateJournal(ctx, e)
	if knm.IsErrorName(err, knm.ErrConflict) {
		// An earlier release of this DID journalled its cancel (and did not finish).
		// Unless it says sent by this account already, it is written again as such: a cancel
		// is about to be sent from here (an earlier refused one must not hide it).
		prev, gerr := c.store.GetJournal(ctx, e.ID)
		if gerr == nil && prev.Carrier == ModuleName {
			var pp cancelPayload
			if prev.State == cancelSent && json.Unmarshal(prev.Payload, &pp) == nil && pp.DIDID == id && pp.Account == c.account {
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

// cancelDone marks the cancel row done. A failure is only logged: the row saying sent
// still lets a later release finish (the DID is gone from the account).
func (c *Carrier) cancelDone(ctx context.Context, e *knm.JournalEntry) {
	if e.State == cancelDone {
		return
	}
	next := *e
	next.State, next.Updated = cancelDone, c.now()
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		c.log.Warn("knm_voxbone: journal write after a cancel failed", "cancel", e.ID, "error", err)
	}
}

// cancelNotDone marks the cancel row refused: Voxbone answered that it cancelled nothing.
// A failure is only logged (the row saying sent is trusted only by this account, which
// still lists the DID, so a later release cancels again).
func (c *Carrier) cancelNotDone(ctx context.Context, e *knm.JournalEntry) {
	next := *e
	next.State, next.Updated = cancelRefusedState, c.now()
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		c.log.Warn("knm_voxbone: journal write after a refused cancel failed", "cancel", e.ID, "error", err)
	}
}

// ownCancel reports whether knm sent the cancel of DID id itself: its cancel row exists
// and says the cancel was confirmed, or was sent from this very account (which no longer
// lists the DID, so it went through).
func (c *Carrier) ownCancel(ctx context.Context, id int) (bool, error) {
	e, err := c.store.GetJournal(ctx, fmt.Sprintf("%s%d", cancelPrefix, id))
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if e.Carrier != ModuleName {
		return false, nil
	}
	var p cancelPayload
	if json.Unmarshal(e.Payload, &p) != nil || p.DIDID != id {
		return false, nil
	}
	return e.State == cancelDone || e.State == cancelSent && p.Account == c.account, nil
}

// alreadyGone decides a release whose number Voxbone no longer lists under its E.164. The
// release may finish only when the DID id knm recorded at purchase is not in the account
// either and knm journalled a cancel of that DID itself (an earlier release whose answer,
// or whose end, was lost). Otherwise (no recorded id, the id listed under another number,
// or a DID knm never cancelled: the carrier may talk to another account than the one that
// bills it) it is refused, so that a number is never dropped from knm while Voxbone may
// still bill it.
func (c *Carrier) alreadyGone(ctx context.Context, n *knm.Number, num string) error {
	var data struct {
		DIDID int `json:"didId"`
	}
	if json.Unmarshal(n.CarrierData, &data) != nil || data.DIDID <= 0 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: %s is not in the Voxbone account and knm has no DID id for it; not released", num).WithCause("no matching DID")
	}
	dids, _, err := c.client.ListDIDs(ctx, voxbone.ListDIDsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.settings.PageSize}, DIDIDs: []int{data.DIDID}})
	if err != nil {
		return carrierError(fmt.Sprintf("voxbone: look up DID %d of %s", data.DIDID, num), err)
	}
	if len(dids) > 0 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: DID %d of %s is listed as %s; not cancelled", data.DIDID, num, dids[0].E164).WithCause("DID number mismatch")
	}
	own, err := c.ownCancel(ctx, data.DIDID)
	if err != nil {
		return fmt.Errorf("knm_voxbone: journal of cancels: %w", err)
	}
	if !own {
		return knm.Errorf(knm.ErrCarrier, "voxbone: %s (DID %d) is not in this Voxbone account; knm did not cancel it, so it is not released — run knm voxbone reconcile",
			num, data.DIDID).WithCause("DID not in this account")
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
		if sameE164(d.E164, num) {
			match = append(match, d)
		}
	}
	return match, nil
}

// sameE164 compares two E.164 strings, ignoring a leading "+".
func sameE164(a, b string) bool {
	return strings.TrimPrefix(a, "+") == strings.TrimPrefix(b, "+")
}
