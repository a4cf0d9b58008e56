package knmvoxbone

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// RoutingJournal is the journal carrier name of routing jobs: one row per order (or per
// `knm voxbone route` run) naming the DIDs to configure and the settings to apply.
const RoutingJournal = ModuleName + ".routing"

// Routing states of a job row and of a number (its carrier data's knm_routing).
const (
	// RoutingSent: the configuration may have been sent; its outcome is not verified yet.
	RoutingSent = "sent"
	// RoutingPending: it failed; Recover retries it with backoff.
	RoutingPending = "pending"
	// RoutingDone: every DID of the job reads back as configured.
	RoutingDone = "done"
)

// RoutingKey is the key of a number's carrier data that says its DID is not routed yet:
// {"state":"pending","error":…}. It is absent once the DID is configured.
const RoutingKey = "knm_routing"

// routeDID is one DID of a routing job.
type routeDID struct {
	ID     int    `json:"did_id"`
	Number string `json:"number"`
	Done   bool   `json:"done,omitempty"`
}

// routeJob is a routing job row's payload.
type routeJob struct {
	Account     string     `json:"account"`            // the Voxbone account's fingerprint
	OrderID     string     `json:"order_id,omitempty"` // the order that bought the DIDs
	For         string     `json:"for,omitempty"`      // knm account whose overrides apply
	Reseller    string     `json:"reseller,omitempty"` // its reseller
	DIDs        []routeDID `json:"dids"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	Error       string     `json:"error,omitempty"`
	// Refresh stores each routed DID, as read back, as its number's carrier data (route
	// runs on numbers bought long ago).
	Refresh bool `json:"refresh,omitempty"`
}

// job is a routing row being worked on.
type job struct {
	entry *knm.JournalEntry
	routeJob
}

func routeRowID(orderID string) string { return "route-" + orderID }

// routingFor returns the routing settings for a knm account: system_config's, overridden
// by the reseller's configs_number_manager.voxbone, then by the account's own. An unknown
// reseller is the account's.
func (c *Carrier) routingFor(ctx context.Context, account, reseller string) (Routing, error) {
	r := c.settings.Routing
	if account != "" && reseller == "" {
		a, err := c.store.GetAccount(ctx, account)
		if err != nil && !knm.IsErrorName(err, knm.ErrNotFound) {
			return r, err
		}
		if err == nil {
			reseller = a.ResellerID
		}
	}
	owners := []string{account}
	if reseller != "" && reseller != account {
		owners = []string{reseller, account}
	}
	for _, id := range owners {
		if id == "" {
			continue
		}
		doc, err := c.store.GetConfig(ctx, id, Category)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			continue
		}
		if err != nil {
			return r, err
		}
		if r, err = AccountRouting(doc.Body, r); err != nil {
			return r, err
		}
	}
	r.BatchSize = max(r.BatchSize, 1)
	return r, nil
}

// routePlan is the routing a set of DIDs gets: the settings of their account and the voice
// URI's id, or why either could not be read.
type routePlan struct {
	r     Routing
	voice int
	err   error
}

// planRouting reads the routing settings of the order's account and resolves (finds or
// creates, the first time) their voice URI.
func (c *Carrier) planRouting(ctx context.Context, o *order) *routePlan {
	p := &routePlan{}
	p.r, p.err = c.routingFor(ctx, cmp.Or(o.AssignTo, o.RouteFor), o.RouteReseller)
	if p.err == nil && p.r.Enabled() {
		p.voice, p.err = c.voiceURIFor(ctx, p.r)
	}
	return p
}

// routeDelivered is the routing step of an order: it journals the delivered DIDs not yet in
// the order's job, then sends the configuration of every DID not yet routed. It returns nil
// when routing is off for the order's account or nothing is left to route; the
// verification is left to settleRouting, which runs beside the import.
func (c *Carrier) routeDelivered(ctx context.Context, o *order, dids []voxbone.DID,
	p *routePlan) (*job, *routeOutcome) {
	r, err := p.r, p.err
	if err == nil && !r.Enabled() {
		return nil, nil
	}
	j, jerr := c.loadJob(ctx, o)
	if jerr != nil {
		return nil, &routeOutcome{err: jerr}
	}
	added := false
	for _, d := range dids {
		num, ok := didE164(d.E164)
		if !ok || slices.ContainsFunc(j.DIDs, func(x routeDID) bool { return x.ID == d.DIDID }) {
			continue
		}
		j.DIDs = append(j.DIDs, routeDID{ID: d.DIDID, Number: num})
		added = true
	}
	if !added && (j.entry == nil || j.entry.State == RoutingDone || j.waiting(c.now())) {
		return nil, nil // nothing new; a pending job waits for its next attempt in Recover
	}
	fresh := j.entry == nil
	if werr := c.saveJob(ctx, j, RoutingSent); werr != nil {
		return nil, &routeOutcome{err: werr}
	}
	if err != nil {
		if voxbone.HasCode(err, voxbone.CodeInvalidVoiceURI) {
			c.forgetVoiceURIOf(ctx, r)
		}
		return j, &routeOutcome{err: err, fresh: fresh}
	}
	out := c.configure(ctx, j, r, p.voice)
	out.fresh = fresh
	return j, out
}

// routeOutcome is the result of sending a job's configuration.
type routeOutcome struct {
	routing Routing
	cfg     voxbone.DIDConfiguration // what was asked, without DIDIDs
	sent    []int                    // DIDs whose configuration Voxbone acknowledged
	gone    []int                    // DIDs Voxbone no longer has (cancelled meanwhile)
	fresh   bool                     // the job's row was created by this attempt
	noMarks bool                     // the caller writes the numbers (an activation)
	err     error
}

// configured reports whether the DID's configuration was acknowledged.
func (r *routeOutcome) configured(id int) bool {
	return r != nil && r.err == nil && slices.Contains(r.sent, id)
}

// configure sends the job's undone DIDs, with voice as their voice URI, in as few requests
// as routing_batch_size allows, all at once (the limiter keeps the rate).
func (c *Carrier) configure(ctx context.Context, j *job, r Routing, voice int) *routeOutcome {
	out := &routeOutcome{routing: r}
	out.cfg = r.configuration(voice, nil)
	var ids []int
	for _, d := range j.DIDs {
		if !d.Done {
			ids = append(ids, d.ID)
		}
	}
	batches := slices.Collect(slices.Chunk(ids, r.BatchSize))
	errs := make([]error, len(batches))
	sent, gone := make([][]int, len(batches)), make([][]int, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() { sent[i], gone[i], errs[i] = c.sendBatch(ctx, out.cfg, b) })
	}
	wg.Wait()
	out.sent, out.gone = slices.Concat(sent...), slices.Concat(gone...)
	if err := errors.Join(errs...); err != nil {
		if voxbone.HasCode(err, voxbone.CodeInvalidVoiceURI) {
			c.forgetVoiceURIOf(ctx, r) // deleted at Voxbone: find or create it again next time
		}
		out.err = err
	}
	return out
}

// sendBatch configures one batch of DIDs. Voxbone refuses a whole batch for one DID it no
// longer has (error 300, all or nothing), so then the batch's DIDs are read, the missing ones
// returned as gone, and the rest sent again once.
func (c *Carrier) sendBatch(ctx context.Context, cfg voxbone.DIDConfiguration, ids []int) (sent, gone []int,
	err error) {
	send := func(ids []int) error {
		cfg.DIDIDs = ids
		msgs, err := c.client.ConfigureDIDs(ctx, cfg)
		if err == nil {
			err = checkMessages(msgs, len(ids))
		}
		return err
	}
	err = send(ids)
	if err == nil || !voxbone.HasCode(err, voxbone.CodeInvalidDID) {
		if err != nil {
			return nil, nil, err
		}
		return ids, nil, nil
	}
	have, lerr := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{DIDIDs: ids,
		ListOptions: voxbone.ListOptions{PageSize: max(c.settings.PageSize, len(ids))}})
	if lerr != nil {
		return nil, nil, errors.Join(err, lerr)
	}
	var kept []int
	for _, id := range ids {
		if slices.ContainsFunc(have, func(d voxbone.DID) bool { return d.DIDID == id }) {
			kept = append(kept, id)
		} else {
			gone = append(gone, id)
		}
	}
	switch {
	case len(gone) == 0:
		return nil, nil, err
	case len(kept) == 0:
		return nil, gone, nil
	}
	if err := send(kept); err != nil {
		return nil, gone, err
	}
	return kept, gone, nil
}

// checkMessages refuses an answer that says fewer DIDs were updated than were sent.
func checkMessages(msgs []voxbone.ConfigurationMessage, n int) error {
	for _, m := range msgs {
		if m.NumberUpdated != n {
			return fmt.Errorf("voxbone updated %s on %d of %d DIDs", m.ConfigOption, m.NumberUpdated, n)
		}
	}
	return nil
}

// verify reads the job's DIDs back and returns those whose configuration differs from cfg,
// with the DIDs as read.
func (c *Carrier) verify(ctx context.Context, ids []int, cfg voxbone.DIDConfiguration) (map[int]voxbone.DID,
	[]int, error) {
	got := map[int]voxbone.DID{}
	for b := range slices.Chunk(ids, 100) {
		dids, err := c.client.ListAllDIDs(ctx, voxbone.ListDIDsOptions{DIDIDs: b,
			ListOptions: voxbone.ListOptions{PageSize: max(c.settings.PageSize, len(b))}})
		if err != nil {
			return nil, nil, err
		}
		for _, d := range dids {
			got[d.DIDID] = d
		}
	}
	var bad []int
	for _, id := range ids {
		d, ok := got[id]
		if !ok || len(configDiff(cfg, d)) > 0 {
			bad = append(bad, id)
		}
	}
	return got, bad, nil
}

// configDiff names the options of cfg that d does not have.
func configDiff(cfg voxbone.DIDConfiguration, d voxbone.DID) []string {
	var diff []string
	idDiff := func(name string, want, have *int) {
		if want != nil && (have == nil || *have != *want) {
			diff = append(diff, name)
		}
	}
	idDiff("voiceUriId", cfg.VoiceURIID, d.VoiceURIID)
	idDiff("trunkId", cfg.TrunkID, d.TrunkID)
	idDiff("capacityGroupId", cfg.CapacityGroupID, d.CapacityGroupID)
	idDiff("smsLinkGroupId", cfg.SMSLinkGroupID, d.SMSLinkGroupID)
	idDiff("faxUriId", cfg.FaxURIID, d.FaxURIID)
	if cfg.SRVLookup != nil && *cfg.SRVLookup != d.SRVLookup {
		diff = append(diff, "srvLookup")
	}
	if cfg.DNISEnabled != nil && *cfg.DNISEnabled != bool(d.DNISEnabled) {
		diff = append(diff, "dnisEnabled")
	}
	if cfg.Ringback != "" && cfg.Ringback != d.Ringback {
		diff = append(diff, "ringback")
	}
	if cfg.CLIPrivacy != "" && cfg.CLIPrivacy != d.CLIPrivacy {
		diff = append(diff, "cliPrivacy")
	}
	if cfg.CallerID != nil && (d.CallerID == nil || d.CallerID.CLIFormat != cfg.CallerID.CLIFormat) {
		diff = append(diff, "callerId.cliFormat")
	}
	return diff
}

// loadJob reads the order's routing job, or starts one.
func (c *Carrier) loadJob(ctx context.Context, o *order) (*job, error) {
	e, err := c.store.GetJournal(ctx, routeRowID(o.OrderID))
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return &job{routeJob: routeJob{Account: c.account, OrderID: o.OrderID, For: cmp.Or(o.AssignTo, o.RouteFor),
			Reseller: o.RouteReseller}}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeJob(e)
}

func decodeJob(e *knm.JournalEntry) (*job, error) {
	j := &job{entry: e}
	if err := json.Unmarshal(e.Payload, &j.routeJob); err != nil {
		return nil, fmt.Errorf("knm_voxbone: routing job %s: bad payload: %w", e.ID, err)
	}
	return j, nil
}

// saveJob writes the job in state, creating its row the first time, guarded by the
// revision last read.
func (c *Carrier) saveJob(ctx context.Context, j *job, state string) error {
	raw, err := json.Marshal(j.routeJob)
	if err != nil {
		return err
	}
	now := c.now()
	if j.entry == nil {
		e := &knm.JournalEntry{ID: routeRowID(j.OrderID), Carrier: RoutingJournal, State: state, Payload: raw,
			Created: now, Updated: now}
		if err := c.store.CreateJournal(ctx, e); err != nil {
			return fmt.Errorf("knm_voxbone: journal routing of %s: %w", j.OrderID, err)
		}
		j.entry = e
		return nil
	}
	next := *j.entry
	next.State, next.Payload, next.Updated = state, raw, now
	if err := c.store.UpdateJournal(ctx, &next); err != nil {
		return fmt.Errorf("knm_voxbone: journal routing of %s -> %s: %w", j.OrderID, state, err)
	}
	j.entry = &next
	return nil
}

// forgetVoiceURIOf forgets the voice URI of r's template, which Voxbone no longer knows.
func (c *Carrier) forgetVoiceURIOf(ctx context.Context, r Routing) {
	if t, err := ParseVoiceURI(r.VoiceURI); err == nil && r.VoiceURI != "" {
		c.forgetVoiceURI(ctx, t)
	}
}

// waiting reports whether the job is pending and its next attempt is not due yet.
func (j *job) waiting(now time.Time) bool {
	return j.entry != nil && j.entry.State == RoutingPending && j.NextAttempt != nil && now.Before(*j.NextAttempt)
}
