package knm

import (
	"context"
	"errors"
	"strings"
	"time"
)

// SearchPrefix is the number prefix of a search, normalised once by the manager: the
// country's calling code and the national prefix asked.
type SearchPrefix struct {
	Dialcode string // "+" and the country's calling code, e.g. "+1"
	National string // the national prefix, e.g. "415", or "80*" ending in a toll-free wildcard
}

// E164 is what every number the prefix matches starts with: the dialcode and the national
// digits without the wildcard, e.g. "+1415" (or "+180" for "80*").
func (p SearchPrefix) E164() string { return p.Dialcode + strings.TrimSuffix(p.National, "*") }

// SearchOptions are the options of a number search, as Kazoo's crossbar builds them
// (kazoo-knm §2.2).
type SearchOptions struct {
	Country  string // ISO 3166 alpha-2, upper case ("US")
	Prefix   SearchPrefix
	Quantity int // how many numbers are wanted (>= 1); what a buying carrier buys up to
	// Limit is how many rows a carrier may offer (maximum_search_quantity): the search
	// caches them all so later pages (offset > 0) are served without asking again, as
	// Kazoo master does. Carriers that buy to offer never buy beyond Quantity. 0 means
	// Quantity.
	Limit      int
	Offset     int    // item offset into the merged, sorted results
	AccountID  string // the account searching, if any
	ResellerID string // its reseller, if any
	QueryID    string // the search cache key
	// NoPurchase forbids spending money to answer: a carrier that buys numbers to offer
	// them (knm_voxbone in order mode) serves only what it already holds. Set for
	// anonymous searches, which Kazoo allows, so nobody can drain a carrier balance
	// without credentials.
	NoPurchase bool
	// IdempotencyKey, when set, names the caller's search (the Idempotency-Key header): a
	// retry by the same account never buys again but is answered from the first one's order.
	IdempotencyKey string
	// Deadline is when the caller's answer is due; zero for none. A carrier that has sent
	// no purchase by then is cancelled; one that has is waited for a while longer.
	Deadline time.Time
	// Progress, when set, hears what a carrier commits to before it answers.
	Progress SearchProgress
}

// SearchProgress lets a carrier tell the search, before it answers, what the caller gets
// whatever happens next: a search must never drop numbers it holds or money it spent.
type SearchProgress interface {
	// Offer records rows the carrier will return in any case (numbers it holds already), so
	// that they are offered even when the carrier misses the deadline.
	Offer(rows []SearchRow)
	// Committed says that a purchase for this search was sent as order: the search waits
	// past its deadline, within a bound, for the carrier's answer, and otherwise names it.
	Committed(order string)
}

// Offer calls o.Progress.Offer when there is a Progress.
func (o SearchOptions) Offer(rows []SearchRow) {
	if o.Progress != nil {
		o.Progress.Offer(rows)
	}
}

// Committed calls o.Progress.Committed when there is a Progress.
func (o SearchOptions) Committed(order string) {
	if o.Progress != nil {
		o.Progress.Committed(order)
	}
}

// CarrierInfo is what a carrier tells the UI about itself.
type CarrierInfo struct {
	// MaximalPrefixLength is how many digits of prefix the carrier can search on.
	MaximalPrefixLength int
}

// ErrNotImplemented is returned by carriers that do not support an optional operation,
// such as CheckNumbers.
var ErrNotImplemented = errors.New("not implemented by this carrier")

// Carrier is a carrier module, mirroring Kazoo's knm_gen_carrier callbacks. Modules are
// registered by their module name (knm_local, knm_voxbone, …).
type Carrier interface {
	// Name returns the module name, e.g. "knm_voxbone".
	Name() string
	// FindNumbers offers up to opts.Quantity numbers starting with opts.Prefix.E164().
	// Nothing found is (nil, nil). A carrier may return rows and an error together: the
	// rows are what it could offer, the error says why not more.
	FindNumbers(ctx context.Context, opts SearchOptions) ([]SearchRow, error)
	// AcquireNumber is called when a number leaves discovery (or is reserved again); it may
	// change n (its carrier data). An error leaves the number where it was.
	AcquireNumber(ctx context.Context, n *Number) error
	// DisconnectNumber is called on release once nobody owns the number any more.
	DisconnectNumber(ctx context.Context, n *Number) error
	// IsNumberBillable reports whether the number costs money.
	IsNumberBillable(n *Number) bool
	// ShouldLookupCNAM reports whether inbound CNAM should be looked up for its numbers.
	ShouldLookupCNAM() bool
	// IsLocal reports whether the module makes no network calls.
	IsLocal() bool
	// CheckNumbers returns a status per number, or ErrNotImplemented.
	CheckNumbers(ctx context.Context, numbers []string) (map[string]string, error)
	// Info returns what the carrier tells the UI.
	Info() CarrierInfo
}

// NumberReturner is implemented by carriers whose DisconnectNumber hands the number back
// to the carrier for good: Voxbone cancels the DID, so it is no longer ours to offer. The
// manager then deletes such a number on release instead of returning it to the available
// pool, where a later search would sell a number the platform no longer holds.
type NumberReturner interface {
	// ReturnsNumberOnDisconnect reports whether a disconnected number is gone for good.
	ReturnsNumberOnDisconnect() bool
}

// ReturnsNumberOnDisconnect reports whether c implements NumberReturner and says yes.
func ReturnsNumberOnDisconnect(c Carrier) bool {
	r, ok := c.(NumberReturner)
	return ok && r.ReturnsNumberOnDisconnect()
}

// Recoverer is implemented by carrier modules that journal their calls and can settle what
// a stopped process left unfinished. knm serve calls it at start-up and in the background
// for every module that has it, without knowing which module it is.
type Recoverer interface {
	// RecoverIdle settles unfinished work that no running instance does: work whose owner's
	// lease has ended (InstanceStore) is taken over at once; work without an owner once it
	// has been idle for at least minIdle.
	RecoverIdle(ctx context.Context, minIdle time.Duration) (RecoverSummary, error)
}

// RecoverSummary says what one recovery pass did, for the log.
type RecoverSummary struct {
	Examined  int // unfinished operations looked at
	Settled   int // brought to a final state
	Failed    int // ended as failed (nothing bought or kept)
	Unsettled int // still unfinished; a later pass tries again
}
