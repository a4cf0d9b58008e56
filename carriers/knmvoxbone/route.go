package knmvoxbone

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// RouteRequest selects the DIDs knm holds to configure with the current settings.
type RouteRequest struct {
	Numbers []string // E.164 numbers of knm_voxbone; empty with All
	All     bool     // every knm_voxbone number
	DryRun  bool     // only say what would change
	// SkipMissing leaves numbers Voxbone no longer has out of the errors, for a caller that
	// reports them itself (reconcile), so that each is reported once.
	SkipMissing bool
}

// RouteChange is a DID whose configuration differs from what the settings ask for.
type RouteChange struct {
	Number  string   `json:"number"`
	DIDID   int      `json:"did_id"`
	Account string   `json:"account,omitempty"` // the knm account whose settings apply
	Differs []string `json:"differs"`           // Voxbone's option names, e.g. voiceUriId
}

// RouteReport says what Route found and did.
type RouteReport struct {
	Examined int           `json:"examined"` // DIDs looked at
	Changes  []RouteChange `json:"changes"`  // DIDs that differ (before the fix)
	Routed   int           `json:"routed"`   // DIDs configured and verified by this run
	Pending  int           `json:"pending"`  // DIDs whose configuration failed; recover retries
	DryRun   bool          `json:"dry_run"`
	Errors   []string      `json:"errors"` // numbers that could not be looked at, and failures
}

// owner is whose routing settings apply to a number: its account and reseller.
type owner struct{ account, reseller string }

// Route applies the routing settings to DIDs knm already holds: it reads them at Voxbone,
// compares each with the settings of its number's account, and (unless DryRun) configures
// those that differ as a journalled job per account, verified like an order's. A DID whose
// configuration fails is marked pending and retried by Recover.
func (c *Carrier) Route(ctx context.Context, req RouteRequest) (*RouteReport, error) {
	if !req.All && len(req.Numbers) == 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "voxbone route: give numbers or all").WithCause("numbers")
	}
	rep := &RouteReport{DryRun: req.DryRun, Changes: []RouteChange{}, Errors: []string{}}
	ns, err := c.routeNumbers(ctx, req, rep)
	if err != nil {
		return nil, err
	}
	dids, err := c.didsOf(ctx, ns, req, rep)
	if err != nil {
		return nil, carrierError("voxbone route: list DIDs", err)
	}
	groups := map[owner][]routeDID{}
	routings := map[owner]routePlan{}
	var order []owner
	for _, n := range ns {
		d, ok := dids[n.Number]
		if !ok {
			continue
		}
		rep.Examined++
		o, err := c.ownerOf(ctx, n)
		if err != nil {
			rep.Errors = append(rep.Errors, n.Number+": "+err.Error())
			continue
		}
		p, ok := routings[o]
		if !ok {
			p = c.routingOfOwner(ctx, o)
			routings[o] = p
		}
		if p.err != nil {
			rep.Errors = append(rep.Errors, n.Number+": "+p.err.Error())
			continue
		}
		r, voice := p.r, p.voice
		if !r.Enabled() {
			continue
		}
		diff := configDiff(r.configuration(voice, nil), d)
		if voice == 0 && (r.VoiceURI != "" || r.VoiceURIID != 0) {
			diff = append([]string{"voiceUriId"}, diff...) // the voice URI does not exist yet
		}
		if len(diff) == 0 {
			if st, _ := RoutingOf(n.CarrierData); st != "" && !req.DryRun {
				// Routed after all (an answer lost after the effect): the mark goes.
				c.markNumbers(ctx, []routeDID{{ID: d.DIDID, Number: n.Number}}, map[int]voxbone.DID{d.DIDID: d},
					"", false)
			}
			continue
		}
		rep.Changes = append(rep.Changes, RouteChange{Number: n.Number, DIDID: d.DIDID, Account: o.account,
			Differs: diff})
		if _, seen := groups[o]; !seen {
			order = append(order, o)
		}
		groups[o] = append(groups[o], routeDID{ID: d.DIDID, Number: n.Number})
	}
	if req.DryRun {
		return rep, nil
	}
	for _, o := range order {
		j := &job{routeJob: routeJob{Account: c.account, OrderID: "manual-" + newOrderID(), For: o.account,
			Reseller: o.reseller, DIDs: groups[o], Refresh: true}}
		if err := c.routeJobAgain(ctx, j); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		for _, d := range j.DIDs {
			if d.Done {
				rep.Routed++
			} else {
				rep.Pending++
			}
		}
	}
	return rep, nil
}

// routeNumbers returns the knm_voxbone numbers a request names; a number knm does not hold
// under knm_voxbone is listed in the report's errors.
func (c *Carrier) routeNumbers(ctx context.Context, req RouteRequest, rep *RouteReport) ([]*knm.Number, error) {
	if req.All {
		return c.store.FindNumbers(ctx, knm.NumberFilter{Module: ModuleName})
	}
	var ns []*knm.Number
	for _, num := range req.Numbers {
		n, err := c.store.GetNumber(ctx, num)
		switch {
		case knm.IsErrorName(err, knm.ErrNotFound):
			rep.Errors = append(rep.Errors, num+": not in knm")
		case err != nil:
			return nil, err
		case n.ModuleName != ModuleName:
			rep.Errors = append(rep.Errors, num+": module "+n.ModuleName+", not "+ModuleName)
		default:
			ns = append(ns, n)
		}
	}
	return ns, nil
}

// didsOf reads the DIDs of numbers at Voxbone, by number: every DID of the account for all,
// else by the didIds of their carrier data (by e164 when a number has none).
func (c *Carrier) didsOf(ctx context.Context, ns []*knm.Number, req RouteRequest,
	rep *RouteReport) (map[string]voxbone.DID, error) {
	all := req.All
	out := map[string]voxbone.DID{}
	add := func(ds []voxbone.DID) {
		for _, d := range ds {
			if num, ok := didE164(d.E164); ok {
				out[num] = d
			}
		}
	}
	var ids []int
	for _, n := range ns {
		var d struct {
			DIDID int `json:"didId"`
		}
		if json.Unmarshal(n.CarrierData, &d) == nil && d.DIDID > 0 {
			ids = append(ids, d.DIDID)
		} else if !all {
			ds, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{E164Pattern: n.Number})
			if err != nil {
				return nil, err
			}
			add(slices.DeleteFunc(ds, func(x voxbone.DID) bool { return x.E164 != n.Number }))
		}
	}
	if all {
		ds, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{})
		if err != nil {
			return nil, err
		}
		add(ds)
	} else {
		for b := range slices.Chunk(ids, 100) {
			ds, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{DIDIDs: b})
			if err != nil {
				return nil, err
			}
			add(ds)
		}
	}
	for _, n := range ns {
		if _, ok := out[n.Number]; !ok && !req.SkipMissing {
			rep.Errors = append(rep.Errors, n.Number+": no such DID at voxbone")
		}
	}
	return out, nil
}

// ownerOf returns whose settings apply to a number: its account and that account's
// reseller; an unassigned number gets system_config's.
func (c *Carrier) ownerOf(ctx context.Context, n *knm.Number) (owner, error) {
	if n.AssignedTo == "" {
		return owner{}, nil
	}
	a, err := c.store.GetAccount(ctx, n.AssignedTo)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return owner{account: n.AssignedTo}, nil
	}
	if err != nil {
		return owner{}, err
	}
	return owner{account: a.ID, reseller: a.ResellerID}, nil
}

// routingOfOwner is the routing of o's DIDs with the id its voice URI has now (see
// peekVoiceURI); Route reads it once per owner, not once per DID.
func (c *Carrier) routingOfOwner(ctx context.Context, o owner) routePlan {
	p := routePlan{}
	p.r, p.err = c.routingFor(ctx, o.account, o.reseller)
	if p.err == nil && p.r.Enabled() {
		p.voice, p.err = c.peekVoiceURI(ctx, p.r)
	}
	return p
}

// peekVoiceURI returns the id the settings' voice URI has, without creating it: 0 when it
// does not exist yet.
func (c *Carrier) peekVoiceURI(ctx context.Context, r Routing) (int, error) {
	if r.VoiceURIID > 0 || r.VoiceURI == "" {
		return r.VoiceURIID, nil
	}
	t, err := ParseVoiceURI(r.VoiceURI)
	if err != nil {
		return 0, err
	}
	if e, err := c.store.GetJournal(ctx, c.voiceURIRowID(t)); err == nil && e.State == voiceURIReady {
		var row voiceURIRow
		if json.Unmarshal(e.Payload, &row) == nil && row.VoiceURIID > 0 {
			return row.VoiceURIID, nil
		}
	}
	v, err := c.client.FindVoiceURI(ctx, t.Protocol, t.URI)
	if err != nil || v == nil {
		return 0, err
	}
	return derefID(v.VoiceURIID)
}

// String is one line per change, for logs.
func (ch RouteChange) String() string {
	return fmt.Sprintf("%s (DID %d): %s", ch.Number, ch.DIDID, strings.Join(ch.Differs, ", "))
}
