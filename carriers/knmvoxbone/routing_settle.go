package knmvoxbone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// verifyResult is the read-back of a job's configured DIDs.
type verifyResult struct {
	read map[int]voxbone.DID
	bad  []int // DIDs that do not read back as configured
	err  error
}

// readOf returns a DID as read back, if it was.
func (v *verifyResult) readOf(id int) (voxbone.DID, bool) {
	if v == nil {
		return voxbone.DID{}, false
	}
	d, ok := v.read[id]
	return d, ok && len(d.Raw) > 0
}

// verifyJob reads back the DIDs whose configuration Voxbone acknowledged.
func (c *Carrier) verifyJob(ctx context.Context, out *routeOutcome) *verifyResult {
	read, bad, err := c.verify(ctx, out.sent, out.cfg)
	return &verifyResult{read: read, bad: bad, err: err}
}

// annotate returns the DIDs as the import should store them: a DID whose configuration was
// acknowledged carries the configured values, any other DID of a routed order is marked
// pending in its carrier data. Without routing the DIDs are returned unchanged.
func (out *routeOutcome) annotate(dids []voxbone.DID) []voxbone.DID {
	if out == nil {
		return dids
	}
	res := slices.Clone(dids)
	for i, d := range res {
		if out.configured(d.DIDID) {
			res[i].Raw = patchRaw(d.Raw, configuredFields(out.cfg), false, "")
		} else {
			res[i].Raw = patchRaw(d.Raw, nil, true, routingError(out.err))
		}
	}
	return res
}

func routingError(err error) string {
	if err == nil {
		return "not configured yet"
	}
	return err.Error()
}

// configuredFields are the DID fields a configuration sets, as Voxbone's DID shows them.
func configuredFields(cfg voxbone.DIDConfiguration) map[string]any {
	f := map[string]any{}
	set := func(name string, v *int) {
		if v != nil {
			f[name] = *v
		}
	}
	set("voiceUriId", cfg.VoiceURIID)
	set("trunkId", cfg.TrunkID)
	set("capacityGroupId", cfg.CapacityGroupID)
	set("smsLinkGroupId", cfg.SMSLinkGroupID)
	set("faxUriId", cfg.FaxURIID)
	if cfg.SRVLookup != nil {
		f["srvLookup"] = *cfg.SRVLookup
	}
	if cfg.DNISEnabled != nil {
		f["dnisEnabled"] = fmt.Sprint(*cfg.DNISEnabled) // a string in DIDs
	}
	if cfg.Ringback != "" {
		f["ringback"] = cfg.Ringback
	}
	if cfg.CLIPrivacy != "" {
		f["cliPrivacy"] = cfg.CLIPrivacy
	}
	return f
}

// patchRaw returns the DID object raw with fields set and the pending marker set or removed.
// A raw that is not an object is returned as is.
func patchRaw(raw json.RawMessage, fields map[string]any, pending bool, why string) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return raw
	}
	for k, v := range fields {
		m[k] = v
	}
	delete(m, RoutingKey)
	if pending {
		m[RoutingKey] = map[string]any{"state": RoutingPending, "error": why}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

// RoutingOf returns a knm_voxbone number's routing state from its carrier data: "pending"
// with the reason, or "" when nothing is pending.
func RoutingOf(carrierData json.RawMessage) (state, why string) {
	var m struct {
		R *struct {
			State string `json:"state"`
			Error string `json:"error"`
		} `json:"knm_routing"`
	}
	if json.Unmarshal(carrierData, &m) != nil || m.R == nil {
		return "", ""
	}
	return m.R.State, m.R.Error
}

// settleRouting records the outcome of a job's attempt: DIDs that read back as configured
// are done (their numbers lose the pending mark and get the DID as read), the others are
// marked pending on their numbers, and the job is done or pending with its next attempt.
func (c *Carrier) settleRouting(ctx context.Context, j *job, out *routeOutcome, v *verifyResult) error {
	failure := out.err
	if failure == nil && v != nil && v.err != nil {
		failure = fmt.Errorf("verifying the configuration: %w", v.err)
	}
	if failure == nil && v != nil && len(v.bad) > 0 {
		failure = fmt.Errorf("%d DID(s) do not read back as configured", len(v.bad))
	}
	var done, pending []routeDID
	for i, d := range j.DIDs {
		if !d.Done && slices.Contains(out.gone, d.ID) {
			j.DIDs[i].Done = true // cancelled at Voxbone meanwhile: nothing to route
			c.log.Info("knm_voxbone: DID gone from voxbone before routing; skipped", "job", j.OrderID,
				"number", d.Number)
			continue
		}
		ok := d.Done
		if !ok && v != nil && v.err == nil && out.configured(d.ID) && !slices.Contains(v.bad, d.ID) {
			ok = true
			j.DIDs[i].Done = true
			done = append(done, d)
		}
		if !ok {
			pending = append(pending, d)
		}
	}
	// A job's first attempt in an order follows the import, which marked nothing on the
	// DIDs it configured: their numbers need no write. An activation writes its number itself.
	if v != nil && (!out.fresh || j.Refresh) && !out.noMarks {
		c.markNumbers(ctx, done, v.read, "", j.Refresh)
	}
	state := RoutingDone
	j.Error, j.NextAttempt = "", nil
	if len(pending) > 0 {
		state = RoutingPending
		j.Attempts++
		next := c.now().Add(routingBackoff(j.Attempts))
		j.NextAttempt = &next
		j.Error = routingError(failure)
		if !out.noMarks {
			c.markNumbers(ctx, pending, nil, j.Error, false)
		}
		c.log.Warn("knm_voxbone: DIDs bought but not routed yet; recover retries", "order", j.OrderID,
			"dids", len(pending), "next_attempt", next, "error", j.Error)
	}
	if c.metrics.Routing != nil {
		c.metrics.Routing(len(done), len(pending))
	}
	return c.saveJob(ctx, j, state)
}

// routingBackoff is the wait before attempt n+1 of a job: 30 s doubling up to an hour.
func routingBackoff(attempts int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// markNumbers sets or clears the pending mark of the numbers of dids (why == "": routed,
// with the DID as read when known; refresh stores the DID as read even without a mark).
// Numbers knm no longer holds under knm_voxbone are left alone; a number changed meanwhile
// is read again.
func (c *Carrier) markNumbers(ctx context.Context, dids []routeDID, read map[int]voxbone.DID, why string,
	refresh bool) {
	for _, d := range dids {
		for attempt := 0; attempt < 3; attempt++ {
			n, err := c.store.GetNumber(ctx, d.Number)
			if err != nil || n.ModuleName != ModuleName {
				break
			}
			state, was := RoutingOf(n.CarrierData)
			var data json.RawMessage
			switch {
			case why != "" && (state != RoutingPending || was != why):
				data = patchRaw(n.CarrierData, nil, true, why)
			case why == "" && (state != "" || refresh):
				data = patchRaw(n.CarrierData, nil, false, "")
				if r, ok := read[d.ID]; ok && len(r.Raw) > 0 {
					data = r.Raw
				}
				if state == "" && bytes.Equal(data, n.CarrierData) {
					data = nil
				}
			}
			if data == nil {
				break // nothing to change
			}
			next := n.Clone()
			next.CarrierData = data
			err = c.store.UpdateNumber(ctx, next)
			if !knm.IsErrorName(err, knm.ErrConflict) {
				if err != nil {
					c.log.Warn("knm_voxbone: routing mark of a number not written", "number", d.Number, "error", err)
				}
				break
			}
		}
	}
}

// routeJobAgain makes one attempt at a job found unfinished: configure its undone DIDs with
// the settings of its account, verify, and record the outcome.
func (c *Carrier) routeJobAgain(ctx context.Context, j *job) error {
	r, err := c.routingFor(ctx, j.For, j.Reseller)
	if err != nil {
		return err
	}
	if !r.Enabled() {
		j.Error = "routing is no longer configured; job closed"
		for i := range j.DIDs {
			j.DIDs[i].Done = true
		}
		c.markNumbers(ctx, j.DIDs, nil, "", false)
		return c.saveJob(ctx, j, RoutingDone)
	}
	if err := c.saveJob(ctx, j, RoutingSent); err != nil {
		return err
	}
	voice, err := c.voiceURIFor(ctx, r)
	out := &routeOutcome{routing: r, err: err}
	if err == nil {
		out = c.configure(ctx, j, r, voice)
	}
	var v *verifyResult
	if out.err == nil {
		v = c.verifyJob(ctx, out)
	}
	if err := c.settleRouting(ctx, j, out, v); err != nil {
		return err
	}
	if j.entry.State != RoutingDone {
		return errors.New(j.Error)
	}
	return nil
}

// recoverRouting retries the unfinished routing jobs of the carrier's Voxbone account: those
// due (or all when force), not written for at least age. It counts them in rep.
func (c *Carrier) recoverRouting(ctx context.Context, age time.Duration, force bool, rep *RecoverReport) error {
	es, err := c.store.FindJournals(ctx, knm.JournalFilter{Carrier: RoutingJournal,
		States: []string{RoutingSent, RoutingPending}})
	if err != nil {
		return err
	}
	now := c.now()
	backlog := 0
	for _, e := range es {
		if ctx.Err() != nil {
			break
		}
		j, err := decodeJob(e)
		if err != nil {
			rep.Unsettled = append(rep.Unsettled, err.Error())
			continue
		}
		if j.Account != c.account || (age > 0 && now.Sub(e.Updated) < age) ||
			(!force && j.NextAttempt != nil && now.Before(*j.NextAttempt)) {
			backlog += j.undone()
			continue
		}
		if err := c.routeJobAgain(ctx, j); err != nil {
			rep.RoutingPending++
			rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s: routing: %v", e.ID, err))
		} else {
			rep.Routed++
		}
		backlog += j.undone()
	}
	if c.metrics.RoutingPending != nil && ctx.Err() == nil {
		c.metrics.RoutingPending(backlog)
	}
	return nil
}

// undone counts the job's DIDs not routed yet.
func (j *job) undone() int {
	n := 0
	for _, d := range j.DIDs {
		if !d.Done {
			n++
		}
	}
	return n
}

// markRows marks the search rows of the job's DIDs that are not routed as pending, as
// settleRouting marked their numbers.
func (j *job) markRows(rows []knm.SearchRow) []knm.SearchRow {
	for i, r := range rows {
		k := slices.IndexFunc(j.DIDs, func(d routeDID) bool { return d.Number == r.Number })
		if k < 0 {
			continue
		}
		if j.DIDs[k].Done {
			rows[i].CarrierData = patchRaw(r.CarrierData, nil, false, "")
		} else {
			rows[i].CarrierData = patchRaw(r.CarrierData, nil, true, j.Error)
		}
	}
	return rows
}
