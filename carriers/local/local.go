// Package local implements the carrier modules that make no network calls and find their
// numbers in knm's own store (kazoo-knm §1 and §4): knm_local, knm_inventory, knm_managed,
// knm_reserved and knm_reserved_reseller.
//
// Differences from Kazoo, all deliberate:
//   - Every scan is bounded by the prefix and by the quantity. Kazoo's knm_local and
//     knm_inventory view ranges run from the prefix to the end of the 5-byte number
//     database, so a search for +14158 also returned +14159…; here only numbers that start
//     with the prefix come back, and so the "prefix shorter than a number DB" rule (which
//     made Kazoo return nothing) is not needed.
//   - A trailing "*" (toll-free wildcard, e.g. "80*") is dropped: a prefix scan already
//     matches every continuation.
//
// Kept from Kazoo: a search without an account, or with a prefix that does not start with
// "+", finds nothing (Kazoo answers {error, not_available}); numbers come back with their
// stored module, state and carrier data; acquire and disconnect are no-ops.
package local

import (
	"context"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
)

// Module names of the local carriers.
const (
	ModuleLocal            = "knm_local"
	ModuleInventory        = "knm_inventory"
	ModuleManaged          = "knm_managed"
	ModuleReserved         = "knm_reserved"
	ModuleReservedReseller = "knm_reserved_reseller"
)

// kind says how a local carrier finds numbers.
type kind int

const (
	kindPool             kind = iota // available numbers whose module is the carrier's own
	kindReserved                     // numbers reserved to the searching account
	kindReservedReseller             // numbers reserved to the searching account's reseller
	kindManaged                      // the account's (or its reseller's) managed pool
)

// Carrier is one of the local carrier modules. Build it with NewLocal, NewInventory,
// NewManaged, NewReserved or NewReservedReseller.
type Carrier struct {
	name      string
	kind      kind
	store     knm.NumberStore
	maxPrefix int  // CARRIER_INFO_MAX_PREFIX, kazoo-knm §1 table
	isLocal   bool // is_local, kazoo-knm §1 table
	billable  bool // is_number_billable, kazoo-knm §1 table
}

var _ knm.Carrier = (*Carrier)(nil)

// NewLocal returns knm_local: stored available numbers of module knm_local, findable by any
// account. Its numbers are deleted on release (the manager does that, kazoo-knm §3.6).
func NewLocal(s knm.NumberStore) *Carrier {
	return &Carrier{name: ModuleLocal, kind: kindPool, store: s, maxPrefix: 10, isLocal: true}
}

// NewInventory returns knm_inventory: the admin-managed inventory (loaded by bulk import)
// of available numbers of module knm_inventory. Unlike knm_local it reports is_local false,
// as Kazoo does, and its numbers follow the normal release lifecycle.
func NewInventory(s knm.NumberStore) *Carrier {
	return &Carrier{name: ModuleInventory, kind: kindPool, store: s, maxPrefix: 10}
}

// NewReserved returns knm_reserved: the numbers reserved to the searching account, with
// their real module and state reserved.
func NewReserved(s knm.NumberStore) *Carrier {
	return &Carrier{name: ModuleReserved, kind: kindReserved, store: s, maxPrefix: 10, isLocal: true}
}

// NewReservedReseller returns knm_reserved_reseller: the numbers the searching account's
// reseller reserved, which its sub-accounts may take (is_reserved_from_parent).
func NewReservedReseller(s knm.NumberStore) *Carrier {
	return &Carrier{name: ModuleReservedReseller, kind: kindReservedReseller, store: s, maxPrefix: 10, isLocal: true}
}

// RegisterAll registers the five local modules in r, all backed by s.
func RegisterAll(r *carriers.Registry, s knm.NumberStore) {
	for _, c := range []*Carrier{NewLocal(s), NewInventory(s), NewManaged(s), NewReserved(s), NewReservedReseller(s)} {
		r.Register(c.name, func() (knm.Carrier, error) { return c, nil })
	}
}

// Name returns the module name.
func (c *Carrier) Name() string { return c.name }

// NeedsAccount reports that a search without an account finds nothing here, as in Kazoo:
// stored numbers are offered only to a searching account.
func (c *Carrier) NeedsAccount() bool { return true }

// FindNumbers returns up to opts.Limit (else opts.Quantity) stored numbers starting with
// opts.Prefix, ordered by number (see the package doc for what each module finds).
func (c *Carrier) FindNumbers(ctx context.Context, opts knm.SearchOptions) ([]knm.SearchRow, error) {
	prefix := opts.Prefix.E164()
	if opts.AccountID == "" || !strings.HasPrefix(prefix, "+") {
		return nil, nil
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = max(opts.Quantity, 1)
	}
	// Keys only: the rows of stored numbers need no carrier data (activation reads the
	// stored number), and the store then answers from its index alone.
	f := knm.NumberFilter{Prefix: prefix, Limit: limit, KeysOnly: true}
	switch c.kind {
	case kindPool:
		f.Module = c.name
		f.States = []knm.State{knm.StateAvailable}
	case kindReserved:
		f.AssignedTo = &opts.AccountID
		f.States = []knm.State{knm.StateReserved}
	case kindReservedReseller:
		if opts.ResellerID == "" {
			return nil, nil
		}
		f.AssignedTo = &opts.ResellerID
		f.States = []knm.State{knm.StateReserved}
	case kindManaged:
		return c.findManaged(ctx, opts, prefix, limit)
	}
	ns, err := c.store.FindNumbers(ctx, f)
	if err != nil {
		return nil, err
	}
	return rows(ns, ""), nil
}

// rows turns stored numbers into search rows; a non-empty state overrides theirs.
func rows(ns []*knm.Number, state knm.State) []knm.SearchRow {
	out := make([]knm.SearchRow, 0, len(ns))
	for _, n := range ns {
		st := n.State
		if state != "" {
			st = state
		}
		out = append(out, knm.SearchRow{Number: n.Number, Module: n.ModuleName, State: st, CarrierData: n.CarrierData})
	}
	return out
}

// AcquireNumber does nothing: the number is already knm's.
func (c *Carrier) AcquireNumber(context.Context, *knm.Number) error { return nil }

// DisconnectNumber does nothing: there is no carrier to tell. What becomes of the number
// (deleted, aging or back in the pool) is the manager's release pipeline.
func (c *Carrier) DisconnectNumber(context.Context, *knm.Number) error { return nil }

// IsNumberBillable reports Kazoo's value: only knm_managed numbers are billable.
func (c *Carrier) IsNumberBillable(*knm.Number) bool { return c.billable }

// ShouldLookupCNAM reports true, as Kazoo's local modules do.
func (c *Carrier) ShouldLookupCNAM() bool { return true }

// IsLocal reports Kazoo's value (false only for knm_inventory).
func (c *Carrier) IsLocal() bool { return c.isLocal }

// CheckNumbers is not supported by local modules.
func (c *Carrier) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, knm.ErrNotImplemented
}

// Info returns the module's maximal prefix length.
func (c *Carrier) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: c.maxPrefix} }
