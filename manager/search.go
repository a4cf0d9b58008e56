package manager

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/knmproject/knm"
)

// The three local modules every reseller-scoped search starts with (kazoo-knm §2.1).
var leadingModules = []string{"knm_reserved", "knm_reserved_reseller", "knm_local"}

// SelectCarriers returns the carrier modules a search uses (kazoo-knm §2.1): without an
// account or reseller, the system list; otherwise knm_reserved, knm_reserved_reseller and
// knm_local, then the reseller's carrier_modules without those three, falling back to the
// system list. An empty system list falls back to [available_module_name].
func (m *Manager) SelectCarriers(ctx context.Context, accountID, resellerID string) ([]string, error) {
	p, err := m.currentPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return m.selectCarriers(ctx, p, accountID, resellerID)
}

func (m *Manager) selectCarriers(ctx context.Context, p Policy, accountID, resellerID string) ([]string, error) {
	system := nonEmpty(p.CarrierModules)
	if len(system) == 0 {
		system = []string{p.AvailableModuleName}
	}
	if accountID == "" || resellerID == "" {
		return system, nil
	}
	list := system
	mods, ok, err := m.resellerCarriers(ctx, resellerID)
	if err != nil {
		return nil, fmt.Errorf("manager: carrier_modules of reseller %s: %w", resellerID, err)
	}
	// Kazoo's get_ne_binaries: anything but a list of non-empty strings means "unset".
	if ok && len(mods) > 0 && !slices.Contains(mods, "") {
		list = mods
	}
	out := slices.Clone(leadingModules)
	for _, mod := range list {
		if !slices.Contains(out, mod) {
			out = append(out, mod)
		}
	}
	return out, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// SearchRequest is a number search, as crossbar's find_numbers builds it; ParseSearch reads
// one from a person's input, and Search checks it by the same rules.
type SearchRequest struct {
	Country    string // ISO 3166 alpha-2; default "US"
	Prefix     string // national prefix, 1–15 digits, optionally ending in "*"
	Quantity   int    // numbers per page, >= 1 (0 means 1), capped at maximum_search_quantity
	Offset     int    // item offset into the merged results; > 0 pages the cache only
	AccountID  string
	ResellerID string
	AuthToken  string // only hashed into the query id
	// NoPurchase: carriers may not buy numbers to answer (anonymous searches).
	NoPurchase bool
	// IdempotencyKey names the search for its caller (the Idempotency-Key header); see
	// knm.SearchOptions.
	IdempotencyKey string
}

// NumberState is one search result, Kazoo's {"number", "state"}.
type NumberState struct {
	Number string    `json:"number"`
	State  knm.State `json:"state"`
}

// Carrier report statuses.
const (
	CarrierOK      = "ok"
	CarrierError   = "error"
	CarrierTimeout = "timeout"
	// CarrierRefused: the carrier refused to start work it could not finish in time
	// (the rate budget); RetryAfter says when to ask again.
	CarrierRefused = "refused"
)

// CarrierReport says how one carrier did in a search, so a failure is never silent.
type CarrierReport struct {
	Module   string        `json:"module"`
	Status   string        `json:"status"` // ok, error or timeout
	Error    string        `json:"error,omitempty"`
	Count    int           `json:"count"` // rows the carrier returned
	Duration time.Duration `json:"duration_ns"`
	// Order is the carrier's order sent for this search, when its numbers are not (all) in
	// this answer: they are delivered by that order (held for the account).
	Order string `json:"order,omitempty"`
	// RetryAfter is how long to wait before asking again, when Status is refused.
	RetryAfter time.Duration `json:"retry_after_ns,omitempty"`
	// Note explains an answer that is not a failure yet may surprise, such as a stored-number
	// carrier finding nothing for a search without an account.
	Note string `json:"note,omitempty"`
}

// NoteNeedsAccount is the note of a carrier that offers only to a searching account, in a
// search without one.
const NoteNeedsAccount = "finds stored numbers only for a search with an account (as Kazoo): " +
	"search with a token or on an account's route"

// accountScoped is a carrier that finds nothing without a searching account.
type accountScoped interface{ NeedsAccount() bool }

// noteNeedsAccount marks the reports of account-scoped carriers in a search without an
// account, so their count 0 is explained rather than looking like an empty pool.
func noteNeedsAccount(cs []knm.Carrier, reports []CarrierReport, accountID string) {
	if accountID != "" {
		return
	}
	for i, c := range cs {
		if a, ok := c.(accountScoped); ok && a.NeedsAccount() && reports[i].Status == CarrierOK {
			reports[i].Note = NoteNeedsAccount
		}
	}
}

// SearchResult is a page of search results.
type SearchResult struct {
	QueryID  string          `json:"query_id"`
	Numbers  []NumberState   `json:"numbers"`
	Carriers []CarrierReport `json:"carriers,omitempty"` // empty when served from the cache
}

// QueryID returns Kazoo's search cache key "<country>-<prefix>-<base64url(sha1(account
// "-" token))>". An empty token hashes as "" (Kazoo would crash on an undefined one).
func QueryID(country, prefix, accountID, authToken string) string {
	sum := sha1.Sum([]byte(accountID + "-" + authToken))
	return country + "-" + prefix + "-" + base64.URLEncoding.EncodeToString(sum[:])
}

// Search finds numbers (kazoo-knm §2.3, with knm's improvements):
//   - offset 0 asks every selected carrier IN PARALLEL under one overall deadline
//     (number_search_timeout_ms); carriers still running at the deadline are cancelled
//     through their context and reported as "timeout", and the reply holds what arrived
//     in time. Carriers may offer up to maximum_search_quantity rows (as Kazoo master),
//     so later pages are complete; carriers that buy to offer buy only the quantity asked.
//   - Rows are merged, de-duplicated by number and sorted by E.164. When two carriers
//     offer the same number, the first carrier in selection order wins, so a reserved or
//     local number (already knm's) beats a remote carrier's offer of it.
//   - All merged rows go to the search cache for search_cache_ttl_s (unless the cache
//     could serve nothing, see cacheSearch); rows [0, quantity) are returned.
//   - offset > 0 serves from the cache only, on any instance sharing the store; carriers
//     are not called, and an unknown or expired query id gives an empty result.
//
// Errors: invalid (naming prefix, country, quantity or offset), and a carrier's refusal of
// the Idempotency-Key (see keyError). Any other failing carrier is not an error: it is
// reported in Carriers.
func (m *Manager) Search(ctx context.Context, r SearchRequest) (*SearchResult, error) {
	r, prefix, err := r.checked()
	if err != nil {
		return nil, err
	}
	p, err := m.currentPolicy(ctx)
	if err != nil {
		return nil, err
	}
	opts := searchOptions(r, prefix, p)
	res := &SearchResult{QueryID: opts.QueryID, Numbers: []NumberState{}}
	if opts.Offset > 0 {
		rows, _, err := m.store.GetSearch(ctx, opts.QueryID, opts.Offset, opts.Quantity)
		if err != nil {
			return nil, err
		}
		res.Numbers = numberStates(rows)
		return res, nil
	}
	modules, err := m.selectCarriers(ctx, p, opts.AccountID, opts.ResellerID)
	if err != nil {
		return nil, err
	}
	cs := m.carriers(modules)
	rows, reports, err := m.fanOut(ctx, cs, opts, p.SearchTimeout, p.SearchSettleTimeout)
	if err != nil {
		return nil, err
	}
	noteNeedsAccount(cs, reports, opts.AccountID)
	res.Carriers = append(reports, unknownModules(modules, cs)...)
	if err := m.cacheSearch(ctx, opts, rows, p.SearchCacheTTL); err != nil {
		// The first page is still worth returning; later pages will be empty.
		m.logger.Error("search cache write failed", "query_id", opts.QueryID, "error", err)
	}
	res.Numbers = numberStates(rows[:min(len(rows), opts.Quantity)])
	return res, nil
}

// cacheSearch stores the merged rows of a fresh search under its query id. The write is
// the costliest part of a local search, so it is skipped when the cache could serve
// nothing: every row fits on the first page, none is a discovery row (which activation
// looks up in the cache; the others are stored numbers), and the query id has no rows
// from an earlier search that would otherwise be served stale.
func (m *Manager) cacheSearch(ctx context.Context, opts knm.SearchOptions, rows []knm.SearchRow,
	ttl time.Duration) error {
	needed := len(rows) > opts.Quantity
	for i := 0; !needed && i < len(rows); i++ {
		needed = rows[i].State == knm.StateDiscovery
	}
	if !needed {
		_, found, err := m.store.GetSearch(ctx, opts.QueryID, 0, 1)
		if err == nil && !found {
			return nil
		}
		// Rows of an earlier search would be served stale for later pages. Clearing them,
		// rather than storing this page, lets the next identical search skip the write.
		rows = nil
	}
	return m.store.PutSearch(ctx, opts.QueryID, rows, m.now().Add(ttl))
}

// unknownModules reports the selected modules no carrier answers for (a typo in
// carrier_modules, or a module knm does not have). Kazoo drops them silently, and a search
// then looks like "no numbers"; knm names them beside the other carriers.
func unknownModules(modules []string, cs []knm.Carrier) []CarrierReport {
	var out []CarrierReport
	for _, name := range modules {
		if !slices.ContainsFunc(cs, func(c knm.Carrier) bool { return c.Name() == name }) {
			out = append(out, CarrierReport{Module: name, Status: CarrierError,
				Error: "unknown carrier module: knm has no " + name})
		}
	}
	return out
}

// searchOptions builds the carriers' options from a checked request and the policy.
func searchOptions(r SearchRequest, prefix knm.SearchPrefix, p Policy) knm.SearchOptions {
	return knm.SearchOptions{
		Country: r.Country, Prefix: prefix,
		Quantity: min(r.Quantity, p.MaxSearchQuantity), Limit: p.MaxSearchQuantity, Offset: r.Offset,
		AccountID: r.AccountID, ResellerID: r.ResellerID,
		QueryID:    QueryID(r.Country, r.Prefix, r.AccountID, r.AuthToken),
		NoPurchase: r.NoPurchase, IdempotencyKey: r.IdempotencyKey,
	}
}

// carrierResult is one carrier's answer.
type carrierResult struct {
	i    int
	rows []knm.SearchRow
	err  error
	took time.Duration
}

// progress is one carrier's knm.SearchProgress: what it offered before answering and the
// order it committed to.
type progress struct {
	mu      sync.Mutex
	offered []knm.SearchRow
	order   string
	cancel  context.CancelFunc
}

func (p *progress) Offer(rows []knm.SearchRow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offered = append(p.offered, rows...)
}

func (p *progress) Committed(order string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.order = order
}

func (p *progress) committed() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order
}

// fanOut runs every carrier in parallel under one deadline and returns the merged rows
// (first carrier in order wins a duplicate; sorted by number) and one report per carrier.
// At the deadline a carrier that has sent no purchase is cancelled and what it offered so
// far is kept; one that has is waited for up to settle longer, and then reported with its
// order, so a caller is never left without the numbers it paid for or their order.
// A carrier's refusal of the caller's Idempotency-Key is returned as the error.
func (m *Manager) fanOut(ctx context.Context, cs []knm.Carrier, opts knm.SearchOptions,
	timeout, settle time.Duration) ([]knm.SearchRow, []CarrierReport, error) {
	start := time.Now()
	opts.Deadline = start.Add(timeout)
	results := make(chan carrierResult, len(cs)) // buffered: late carriers never block
	progs := make([]*progress, len(cs))
	for i, c := range cs {
		cctx, cancel := context.WithDeadline(ctx, opts.Deadline.Add(settle))
		progs[i] = &progress{cancel: cancel}
		copts := opts
		copts.Progress = progs[i]
		go func() {
			r := carrierResult{i: i}
			defer func() {
				if p := recover(); p != nil {
					r.err = fmt.Errorf("panic: %v", p)
				}
				r.took = time.Since(start)
				results <- r
			}()
			r.rows, r.err = c.FindNumbers(cctx, copts)
		}()
	}
	defer func() {
		for _, p := range progs {
			p.cancel() // cancels the carriers still running when we return
		}
	}()
	reports := make([]CarrierReport, len(cs))
	perCarrier := make([][]knm.SearchRow, len(cs))
	for i, c := range cs {
		reports[i] = CarrierReport{Module: c.Name(), Status: CarrierTimeout,
			Error: "no answer within the search deadline"}
	}
	keyErr := m.collect(ctx, results, progs, reports, perCarrier, opts.Deadline, settle)
	if keyErr != nil {
		return nil, nil, keyErr
	}
	for i := range reports {
		if reports[i].Status != CarrierTimeout {
			continue
		}
		reports[i].Duration = time.Since(start)
		progs[i].mu.Lock()
		perCarrier[i], reports[i].Count = progs[i].offered, len(progs[i].offered)
		if progs[i].order != "" {
			reports[i].Order = progs[i].order
			reports[i].Error = "order " + progs[i].order + " was sent and is still settling; " +
				"its numbers go to the account's holds (see the order)"
		}
		progs[i].mu.Unlock()
		m.logger.Warn("carrier search timed out", "module", reports[i].Module, "query_id", opts.QueryID,
			"order", reports[i].Order)
	}
	return mergeRows(perCarrier), reports, nil
}

// keyError returns err when it is a carrier's refusal of the caller's Idempotency-Key (reused
// for a different search, or retried too often): that is the caller's mistake, not the
// carrier's failure, so the search fails with it rather than reporting it.
func keyError(err error) error {
	var e *knm.Error
	if errors.As(err, &e) && e.Cause == knm.IdempotencyKeyCause {
		return e
	}
	return nil
}

// collect receives the carriers' answers until all are in, the deadline passes with no
// carrier committed to an order, the settle bound passes, or ctx ends. It returns the first
// carrier refusal of the caller's Idempotency-Key, if any.
func (m *Manager) collect(ctx context.Context, results <-chan carrierResult, progs []*progress,
	reports []CarrierReport, perCarrier [][]knm.SearchRow, deadline time.Time, settle time.Duration) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	pending := make(map[int]bool, len(progs))
	for i := range progs {
		pending[i] = true
	}
	settling := false
	for len(pending) > 0 {
		select {
		case r := <-results:
			delete(pending, r.i)
			rep := &reports[r.i]
			rep.Status, rep.Error, rep.Count, rep.Duration = CarrierOK, "", len(r.rows), r.took
			if r.err != nil {
				if err := keyError(r.err); err != nil {
					return err
				}
				rep.Status, rep.Error = CarrierError, r.err.Error()
				if after, ok := knm.RetryAfter(r.err); ok {
					rep.Status, rep.RetryAfter = CarrierRefused, after
				}
				rep.Order = progs[r.i].committed()
				m.logger.Warn("carrier search failed", "module", rep.Module, "error", r.err)
			}
			progs[r.i].mu.Lock()
			perCarrier[r.i] = append(slices.Clone(progs[r.i].offered), r.rows...) // merged later
			progs[r.i].mu.Unlock()
			rep.Count = len(mergeRows(perCarrier[r.i : r.i+1]))
		case <-timer.C:
			if settling {
				return nil
			}
			settling = true
			for i := range pending {
				if progs[i].committed() == "" {
					progs[i].cancel()
					delete(pending, i)
				}
			}
			timer.Reset(settle)
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// mergeRows de-duplicates by number, keeping the row of the earliest carrier, and sorts.
func mergeRows(perCarrier [][]knm.SearchRow) []knm.SearchRow {
	seen := map[string]bool{}
	var out []knm.SearchRow
	for _, rows := range perCarrier {
		for _, r := range rows {
			if r.Number == "" || seen[r.Number] {
				continue
			}
			seen[r.Number] = true
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b knm.SearchRow) int { return cmp.Compare(a.Number, b.Number) })
	if out == nil {
		out = []knm.SearchRow{}
	}
	return out
}

func numberStates(rows []knm.SearchRow) []NumberState {
	out := make([]NumberState, 0, len(rows))
	for _, r := range rows {
		out = append(out, NumberState{Number: r.Number, State: r.State})
	}
	return out
}
