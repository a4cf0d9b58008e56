// Package manager is knm's number manager: carrier selection and search fan-out with a
// shared search cache, the number lifecycle (create, move, reserve, release, delete) with
// Kazoo's transition table and permission rules (kazoo-knm §2–§3), bulk import, and the
// account helpers the CLI and API need.
//
// Every state change is one revision-guarded store write (knm.NumberStore.UpdateNumber), so
// two goroutines or two knm instances can never both win the same number: the loser gets
// knm.ErrConflict, re-reads and re-evaluates the transition against what is stored now.
// Carrier calls that precede a write are journalled (see journal.go) so a crash between the
// call and the write is finished or undone by Recover.
package manager

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/knmproject/knm"
)

// Policy is the number_manager system_config the manager obeys (DESIGN.md §3), already
// resolved by the caller (node -> zone -> default -> code default).
type Policy struct {
	CarrierModules          []string      // carrier_modules
	SearchTimeout           time.Duration // number_search_timeout_ms: one overall deadline
	MaxSearchQuantity       int           // maximum_search_quantity
	AvailableModuleName     string        // available_module_name
	PortInModuleName        string        // port_in_module_name: module of numbers created ported_in
	ReleasedState           knm.State     // released_state
	ShouldPermanentlyDelete bool          // should_permanently_delete
	ShouldAge               bool          // should_age
	SearchCacheTTL          time.Duration // search_cache_ttl_s
	// SearchSettleTimeout (number_search_settle_ms) is how long past the search deadline a
	// carrier that has sent a purchase for the search is waited for; after it the reply
	// names the order instead.
	SearchSettleTimeout time.Duration
}

// DefaultPolicy returns the code defaults of number_manager.
func DefaultPolicy() Policy {
	return Policy{
		CarrierModules:      []string{"knm_local"},
		SearchTimeout:       5 * time.Second,
		MaxSearchQuantity:   500,
		AvailableModuleName: "knm_local",
		PortInModuleName:    "knm_local",
		ReleasedState:       knm.StateAvailable,
		SearchCacheTTL:      300 * time.Second,
		SearchSettleTimeout: 30 * time.Second,
	}
}

// withDefaults fills the zero fields of p with the code defaults, so a partial config
// never means "no timeout" or "no module".
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.SearchTimeout <= 0 {
		p.SearchTimeout = d.SearchTimeout
	}
	if p.MaxSearchQuantity <= 0 {
		p.MaxSearchQuantity = d.MaxSearchQuantity
	}
	if p.AvailableModuleName == "" {
		p.AvailableModuleName = d.AvailableModuleName
	}
	if p.PortInModuleName == "" {
		p.PortInModuleName = d.PortInModuleName
	}
	if p.ReleasedState == "" {
		p.ReleasedState = d.ReleasedState
	}
	if p.SearchSettleTimeout <= 0 {
		p.SearchSettleTimeout = d.SearchSettleTimeout
	}
	if p.SearchCacheTTL <= 0 {
		p.SearchCacheTTL = d.SearchCacheTTL
	}
	return p
}

// Options configure a Manager. Store is required; everything else has a default.
type Options struct {
	Store knm.Store
	// Policy returns the current number_manager settings; it is called once per operation so
	// a config change applies without a restart. Default: DefaultPolicy.
	Policy func(ctx context.Context) (Policy, error)
	// ResellerCarriers returns a reseller's configs_number_manager.carrier_modules, with
	// ok=false when the reseller has not set them. Default: never set.
	ResellerCarriers func(ctx context.Context, resellerID string) ([]string, bool, error)
	// Carriers returns the carriers of the named modules, dropping unknown ones (the
	// carriers registry). Default: no carriers at all.
	Carriers func(names []string) []knm.Carrier
	// Normalize turns user input into E.164 (the e164 package). Default: trims spaces and
	// returns the input unchanged, which is right for "+…" input.
	Normalize func(string) string
	// FeatureSettings returns number_manager's feature settings (config.FeatureSettings).
	// Default: every feature allowed, none denied by configuration.
	FeatureSettings FeatureSettingsFunc
	Logger          *slog.Logger
	Now             func() time.Time
	// Owner returns the instance id of this process's lease (lease.Lease.ID): carrier calls
	// are journalled as its own, and Recover takes over those of instances whose lease
	// ended. Nil or "": journalled without an owner, settled after RecoverGrace.
	Owner func() string
}

// Manager is the number manager. It is safe for concurrent use, and several Managers (in
// one process or many) may share one store.
type Manager struct {
	store            knm.Store
	policy           func(ctx context.Context) (Policy, error)
	resellerCarriers func(ctx context.Context, resellerID string) ([]string, bool, error)
	carriers         func(names []string) []knm.Carrier
	normalize        func(string) string
	features         FeatureSettingsFunc
	logger           *slog.Logger
	now              func() time.Time
	owner            func() string
}

// New returns a Manager, or an invalid error when o.Store is missing.
func New(o Options) (*Manager, error) {
	if o.Store == nil {
		return nil, knm.Errorf(knm.ErrInvalid, "manager: a store is required")
	}
	m := &Manager{
		store: o.Store, policy: o.Policy, resellerCarriers: o.ResellerCarriers,
		carriers: o.Carriers, normalize: o.Normalize, features: o.FeatureSettings,
		logger: o.Logger, now: o.Now, owner: o.Owner,
	}
	if m.owner == nil {
		m.owner = func() string { return "" }
	}
	if m.policy == nil {
		m.policy = func(context.Context) (Policy, error) { return DefaultPolicy(), nil }
	}
	if m.resellerCarriers == nil {
		m.resellerCarriers = func(context.Context, string) ([]string, bool, error) { return nil, false, nil }
	}
	if m.carriers == nil {
		m.carriers = func([]string) []knm.Carrier { return nil }
	}
	if m.normalize == nil {
		m.normalize = strings.TrimSpace
	}
	if m.features == nil {
		m.features = defaultFeatureSettings
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// Normalize turns user input into E.164 with the configured converters, as every
// operation of the manager does (the result may still not be a valid number).
func (m *Manager) Normalize(number string) string { return m.normalize(strings.TrimSpace(number)) }

// currentPolicy returns the policy with defaults filled in.
//
// Settings that are invalid are the operator's problem, not the caller's: that error is an
// unspecified_fault (500) naming the setting, not an invalid-request error. Any other
// failure (the store down, the context cancelled) is returned as it is.
func (m *Manager) currentPolicy(ctx context.Context) (Policy, error) {
	p, err := m.policy(ctx)
	if err != nil {
		var ke *knm.Error
		if errors.As(err, &ke) && ke.Name == knm.ErrInvalid {
			return Policy{}, knm.Errorf(knm.ErrUnspecifiedFault, "number_manager settings are unusable: %s", ke.Message)
		}
		return Policy{}, err
	}
	return p.withDefaults(), nil
}

// carrier returns the carrier of one module, or nil when it is not available.
func (m *Manager) carrier(module string) knm.Carrier {
	for _, c := range m.carriers([]string{module}) {
		if c.Name() == module {
			return c
		}
	}
	return nil
}

// CheckNumber returns the E.164 form of number, or not_reconcilable when it is not "+"
// followed by 2 to 15 digits (the first not 0). The message shows the expected form, since
// "reconcilable" is Kazoo's word and means nothing to most operators.
func (m *Manager) CheckNumber(number string) (string, error) {
	n := m.normalize(strings.TrimSpace(number))
	if !knm.IsE164(n) {
		return "", &knm.Error{Name: knm.ErrNotReconcilable, Message: "number " + number +
			" is not a phone number knm can normalise: write it in E.164, e.g. +14155550100", Cause: number}
	}
	return n, nil
}

// numberAndPolicy returns the E.164 form of number and the current policy, which every
// operation that writes a number needs first.
func (m *Manager) numberAndPolicy(ctx context.Context, number string) (string, Policy, error) {
	num, err := m.CheckNumber(number)
	if err != nil {
		return "", Policy{}, err
	}
	p, err := m.currentPolicy(ctx)
	return num, p, err
}

// written is the outcome of a write that no other writer beat: the number written, or
// the error.
func written(n *knm.Number, err error) (*knm.Number, error) {
	if err != nil {
		return nil, err
	}
	return n, nil
}

// maxWriteAttempts bounds the re-read/re-evaluate loop of a contended write. Each retry
// follows a write that someone else won, so progress is guaranteed; the bound only stops a
// pathological livelock.
const maxWriteAttempts = 8

// retryable reports whether err means "someone else wrote first; read again".
func retryable(err error) bool {
	return knm.IsErrorName(err, knm.ErrConflict) || knm.IsErrorName(err, knm.ErrNumberExists)
}

// isNotFound reports whether err is a not_found error.
func isNotFound(err error) bool { return knm.IsErrorName(err, knm.ErrNotFound) }

// byCarrier wraps a carrier failure as Kazoo reports it: unspecified_fault "fault by
// carrier" with the number as cause (the carrier and its reason are kept in Err for logs).
func byCarrier(number, module string, err error) error {
	var ke *knm.Error
	if errors.As(err, &ke) && ke.Name != knm.ErrInternal && ke.Name != knm.ErrCarrier {
		return err
	}
	return (&knm.Error{Name: knm.ErrUnspecifiedFault, Message: "fault by carrier", Cause: number}).
		Wrap(errors.Join(errors.New(module), err))
}
