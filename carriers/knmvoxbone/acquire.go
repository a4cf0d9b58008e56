package knmvoxbone

import (
	"context"
	"encoding/json"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// acquireRouting routes the DID of a number being activated for its account when the
// account's routing settings (its own or its reseller's overrides) differ from what the DID
// has, as its carrier data tells it. It never fails the activation: the configuration is a
// journalled job, and a failure leaves n marked pending for Recover. n is changed in memory
// only; the manager writes it.
func (c *Carrier) acquireRouting(ctx context.Context, n *knm.Number) {
	if n.AssignedTo == "" {
		return
	}
	r, err := c.routingFor(ctx, n.AssignedTo, "")
	if err != nil || !r.Enabled() {
		if err != nil {
			c.log.Warn("knm_voxbone: routing settings of the account unreadable; activation not routed",
				"number", n.Number, "error", err)
		}
		return
	}
	var d voxbone.DID
	if json.Unmarshal(n.CarrierData, &d) != nil || d.DIDID <= 0 {
		return // not a DID knm bought: reconcile or route deal with it
	}
	voice, verr := c.voiceURIFor(ctx, r)
	if verr == nil {
		if st, _ := RoutingOf(n.CarrierData); st == "" && len(configDiff(r.configuration(voice, nil), d)) == 0 {
			return // configured as the account wants already
		}
	}
	j := &job{routeJob: routeJob{Account: c.account, OrderID: "acquire-" + newOrderID(), For: n.AssignedTo,
		DIDs: []routeDID{{ID: d.DIDID, Number: n.Number}}}}
	if err := c.saveJob(ctx, j, RoutingSent); err != nil {
		c.log.Warn("knm_voxbone: routing journal write failed; activation not routed", "number", n.Number,
			"error", err)
		return
	}
	out := &routeOutcome{routing: r, err: verr}
	if verr == nil {
		out = c.configure(ctx, j, r, voice)
	}
	out.noMarks = true
	var v *verifyResult
	if out.err == nil {
		v = c.verifyJob(ctx, out)
	}
	if err := c.settleRouting(ctx, j, out, v); err != nil {
		c.log.Warn("knm_voxbone: routing journal write failed; recover settles it", "number", n.Number, "error", err)
	}
	if j.DIDs[0].Done {
		if read, ok := v.readOf(d.DIDID); ok {
			n.CarrierData = read.Raw
		}
		return
	}
	n.CarrierData = patchRaw(n.CarrierData, nil, true, j.Error)
}
