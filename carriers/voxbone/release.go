package voxbone

import (
	"context"
	"encoding/json"
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
	// From the cancel on, the work is detached from ctx (bounded like a checkout's
	// settling): a client hanging up must not leave knm unsure whether Voxbone cancelled,
	// and so keeping a number Voxbone no longer bills.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTimeout)
	defer cancel()
	cancelled, err := c.vx.CancelDIDs(dctx, []int{id})
	if err != nil && !voxbone.IsRateLimited(err) {
		// The answer may be lost while the cancel happened (a dropped connection, a 5xx
		// after the fact): look again, and if the DID is gone the cancel did happen.
		if again, lerr := c.lookupDID(dctx, num); lerr == nil && len(again) == 0 {
			c.log.Warn("knm_voxbone: cancel answer lost but the DID is gone; cancelled", "number", num, "did_id", id, "error", err)
			return nil
		}
	}
	if err != nil {
		return carrierError(fmt.Sprintf("voxbone: cancel %s (DID %d)", num, id), err)
	}
	if cancelled != 1 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: cancel %s (DID %d): numberCancelled is %d, want 1", num, id, cancelled)
	}
	c.log.Info("knm_voxbone: DID cancelled", "number", num, "did_id", id)
	return nil
}

// alreadyGone decides a release whose number Voxbone no longer lists under its E.164. If
// the DID id knm recorded at purchase is not in the account either, an earlier cancel went
// through (say the process died before it could record so) and the release may finish;
// otherwise, or without a recorded id, it is refused so that a number is never dropped from
// knm while Voxbone may still bill it.
func (c *Carrier) alreadyGone(ctx context.Context, n *knm.Number, num string) error {
	var data struct {
		DIDID int `json:"didId"`
	}
	if json.Unmarshal(n.CarrierData, &data) != nil || data.DIDID <= 0 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: %s is not in the Voxbone account and knm has no DID id for it; not released", num).WithCause("no matching DID")
	}
	dids, _, err := c.vx.ListDIDs(ctx, voxbone.ListDIDsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.s.PageSize}, DIDIDs: []int{data.DIDID}})
	if err != nil {
		return carrierError(fmt.Sprintf("voxbone: look up DID %d of %s", data.DIDID, num), err)
	}
	if len(dids) > 0 {
		return knm.Errorf(knm.ErrCarrier, "voxbone: DID %d of %s is listed as %s; not cancelled", data.DIDID, num, dids[0].E164).WithCause("DID number mismatch")
	}
	c.log.Warn("knm_voxbone: DID already cancelled at Voxbone; releasing", "number", num, "did_id", data.DIDID)
	return nil
}

// lookupDID returns the account's DIDs whose e164 is exactly num (every page of
// inventory/did?e164Pattern=num, which matches substrings).
func (c *Carrier) lookupDID(ctx context.Context, num string) ([]voxbone.DID, error) {
	dids, err := c.vx.ListAllDIDs(ctx, voxbone.ListDIDsOptions{
		ListOptions: voxbone.ListOptions{PageSize: c.s.PageSize}, E164Pattern: num})
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
