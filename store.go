package knm

import (
	"context"
	"encoding/json"
	"time"
)

// Store is everything knm persists. Two real backends implement it (store/sqlite, the
// embedded default, and store/postgres, for several instances sharing one database) and both
// pass one conformance suite (store/storetest).
//
// Every write of a number, account, config document or journal entry is guarded by a
// revision, like CouchDB's _rev: an update names the revision it read and fails with
// ErrConflict, changing nothing, when the stored revision has moved on. That single-row
// compare-and-swap is what makes each state transition atomic across goroutines and
// across knm instances.
//
// Every write of a number (create, update, delete, import) also appends its Event in the
// same transaction (EventStore), so whoever follows the events misses no change.
type Store interface {
	NumberStore
	AccountStore
	ConfigStore
	SearchCache
	JournalStore
	InstanceStore
	IdempotencyStore
	EventStore
	WebhookStore
	// Close releases the store's connections.
	Close() error
}

// NumberFilter selects numbers. Zero fields do not constrain. Results are ordered by number.
type NumberFilter struct {
	AssignedTo    *string  // owner; a pointer to "" selects unassigned numbers
	AssignedToAny []string // any of these owners (an account and its descendants)
	States        []State  // any of these states
	Module        string   // pvt_module_name
	Prefix        string   // numbers starting with this string ("+1415"); the scan stays inside the prefix
	After         string   // numbers strictly greater than this one (keyset paging)
	Before        string   // numbers strictly less than this one (keyset paging backwards)
	Descending    bool     // order by number, highest first
	Offset        int      // rows to skip
	Limit         int      // most rows to return; 0 means no limit
	// KeysOnly fills only Number, State and ModuleName of the numbers found. A search
	// needs no more, and the backends can then answer from an index alone, without
	// reading each number's row. Such numbers are for reading: never write them back.
	KeysOnly bool
}

// Sort keys of ListOptions.
const (
	// SortByNumber orders by the E.164 number; After is then a number.
	SortByNumber = "number"
	// SortByNumberDesc orders by number, highest first; a page then holds the numbers
	// below After, which is a number.
	SortByNumberDesc = "-number"
)

// ListOptions page a listing by keyset rather than by offset, so a page boundary stays
// put while rows are added or removed before it: rows are ordered by Sort and a page
// holds the rows strictly after After ("" for the first page), at most Limit of them.
type ListOptions struct {
	Sort  string // SortByNumber ("" means it) or SortByNumberDesc; any other key is invalid
	After string // the sort key of the last row of the previous page (its Next)
	Limit int    // rows per page, >= 1
}

// NumberPage is one page of ListNumbers.
type NumberPage struct {
	Numbers []*Number
	// Next is the After of the following page, "" when this page is the last.
	Next string
}

// NumberStore persists phone numbers.
type NumberStore interface {
	// GetNumber returns the number, or ErrNotFound.
	GetNumber(ctx context.Context, number string) (*Number, error)
	// CreateNumber stores a new number, setting its Rev to 1 and Created/Modified to now
	// when they are zero. Returns ErrNumberExists if the number is already stored.
	CreateNumber(ctx context.Context, n *Number) error
	// UpdateNumber replaces the stored number whose revision is n.Rev, then increments
	// n.Rev and sets n.Modified. Returns ErrNotFound if it is not stored and ErrConflict if
	// the stored revision differs; either way nothing changes.
	UpdateNumber(ctx context.Context, n *Number) error
	// DeleteNumber removes the number if its stored revision is rev. Returns ErrNotFound
	// or ErrConflict as UpdateNumber does.
	DeleteNumber(ctx context.Context, number string, rev int64) error
	// FindNumbers returns the numbers matching f, ordered by number (highest first when
	// f.Descending).
	FindNumbers(ctx context.Context, f NumberFilter) ([]*Number, error)
	// ListNumbers returns one keyset page of the numbers matching f (whose After, Offset and
	// Limit it ignores): a number present during the whole walk appears on exactly one
	// page, whatever is written meanwhile. Errors: invalid (an unknown sort key, a limit
	// below 1).
	ListNumbers(ctx context.Context, f NumberFilter, o ListOptions) (NumberPage, error)
	// CountNumbers returns how many numbers match f, ignoring its After, Before, Offset,
	// Limit and order.
	CountNumbers(ctx context.Context, f NumberFilter) (int, error)
	// ImportNumbers stores many new numbers in one transaction, skipping those already
	// stored (so an import can run twice). It returns the numbers it skipped.
	ImportNumbers(ctx context.Context, ns []*Number) (skipped []string, err error)
}

// AccountFilter selects accounts. Zero fields do not constrain. Results are ordered by id.
type AccountFilter struct {
	ParentID   *string // direct children of this account; a pointer to "" selects roots
	Ancestor   string  // every descendant of this account (it is in their Tree)
	APIKeyHash string  // the account holding this API key hash
	Offset     int
	Limit      int
}

// AccountStore persists accounts.
type AccountStore interface {
	// GetAccount returns the account, or ErrNotFound.
	GetAccount(ctx context.Context, id string) (*Account, error)
	// CreateAccount stores a new account (Rev becomes 1). Returns ErrConflict if the id exists.
	CreateAccount(ctx context.Context, a *Account) error
	// UpdateAccount replaces the account whose revision is a.Rev (ErrNotFound, ErrConflict).
	UpdateAccount(ctx context.Context, a *Account) error
	// FindAccounts returns the accounts matching f, ordered by id.
	FindAccounts(ctx context.Context, f AccountFilter) ([]*Account, error)
}

// ConfigDoc is a Kazoo-shaped configuration document: a system_config category
// ({"_id": "number_manager", "default": {...}, "<node>": {...}}) when Scope is "", or an
// account's configs_<category> document when Scope is the account id. Body is kept
// byte for byte, because key order matters (e164_converters, classifiers).
type ConfigDoc struct {
	Scope    string          // "" for system_config, else the account id
	ID       string          // the category, e.g. "number_manager" or "number_manager.voxbone"
	Body     json.RawMessage // the whole JSON object
	Rev      int64
	Modified time.Time
}

// ConfigStore persists configuration documents.
type ConfigStore interface {
	// GetConfig returns the document, or ErrNotFound.
	GetConfig(ctx context.Context, scope, id string) (*ConfigDoc, error)
	// PutConfig creates the document when d.Rev is 0 (ErrConflict if it exists) or replaces
	// the one whose revision is d.Rev (ErrConflict otherwise); d.Rev is then incremented.
	PutConfig(ctx context.Context, d *ConfigDoc) error
	// ImportConfigs writes all documents in one transaction, replacing whatever is stored
	// under the same scope and id: all are written or none is.
	ImportConfigs(ctx context.Context, docs []*ConfigDoc) error
	// ListConfigs returns every document of a scope, ordered by id.
	ListConfigs(ctx context.Context, scope string) ([]*ConfigDoc, error)
}

// SearchRow is one number a carrier offered to a search, kept in the search cache so any
// knm instance can serve the next page, and so activation can find a discovery number.
type SearchRow struct {
	Number      string          `json:"number"`
	Module      string          `json:"module"`
	State       State           `json:"state"`
	CarrierData json.RawMessage `json:"carrier_data,omitempty"`
}

// SearchCache persists search results by query id, with a time to live (Kazoo's ETS cache
// has none and grows without bound).
type SearchCache interface {
	// PutSearch replaces the rows of a query id; they expire at expires. Rows must not
	// repeat a number.
	PutSearch(ctx context.Context, queryID string, rows []SearchRow, expires time.Time) error
	// GetSearch returns rows [offset, offset+limit) of a query id ordered by number, and
	// whether the query id has unexpired rows at all.
	GetSearch(ctx context.Context, queryID string, offset, limit int) (rows []SearchRow, found bool, err error)
	// FindDiscoveryRow returns an unexpired row in state discovery for the number under
	// any query id, or ErrNotFound: activation of a searched number that was never stored
	// takes its module and carrier data from there (kazoo-knm §2.5).
	FindDiscoveryRow(ctx context.Context, number string) (*SearchRow, error)
	// PurgeSearches deletes expired searches and returns how many it deleted.
	PurgeSearches(ctx context.Context) (int, error)
}

// JournalEntry is one carrier order in a carrier's journal: written before each step runs,
// so that after a crash the order can be finished or undone instead of repeated.
type JournalEntry struct {
	ID      string          // knm's order id
	Carrier string          // module name, e.g. knm_voxbone
	State   string          // the carrier's own step names
	Payload json.RawMessage // the carrier's own data
	Rev     int64
	Created time.Time
	Updated time.Time
	// Owner is the instance whose lease covers the entry ("" for none). While that lease
	// lasts only the owner may write the entry; after it, another instance may take it over.
	Owner string
	// Fence grows by one at every takeover. A write must name the entry's current owner and
	// fence, so an owner that lost the entry while paused cannot write over the new owner.
	Fence int64
}

// JournalFilter selects journal entries. Results are ordered by creation time, then id.
type JournalFilter struct {
	Carrier string
	States  []string // any of these states
	Offset  int
	Limit   int
}

// JournalStore persists carrier order journals.
type JournalStore interface {
	// CreateJournal stores a new entry (Rev becomes 1). ErrConflict if the id exists.
	CreateJournal(ctx context.Context, e *JournalEntry) error
	// GetJournal returns the entry, or ErrNotFound.
	GetJournal(ctx context.Context, id string) (*JournalEntry, error)
	// CreateJournal with e.Owner set needs that instance's lease to be live (else
	// knm.LeaseLost) and starts the entry at Fence 1.
	//
	// UpdateJournal replaces the entry whose revision is e.Rev (ErrNotFound, ErrConflict).
	// It keeps Owner and Fence: the write is refused with LeaseLost unless e.Owner and
	// e.Fence are the stored ones and, when e.Owner is set, its lease is live.
	UpdateJournal(ctx context.Context, e *JournalEntry) error
	// FindJournals returns the entries matching f.
	FindJournals(ctx context.Context, f JournalFilter) ([]*JournalEntry, error)
}

// Instance is one running knm process (knm serve, or a CLI command that orders) holding a
// lease in the database. Its lease lasts until Expires; heartbeats move Expires forward.
type Instance struct {
	ID        string
	Host      string
	PID       int
	Started   time.Time
	Heartbeat time.Time
	Expires   time.Time
}

// Live reports whether the instance's lease lasts past now.
func (in *Instance) Live(now time.Time) bool { return in != nil && in.Expires.After(now) }

// InstanceStore keeps the instances' leases and hands unfinished journal entries over from
// an instance whose lease has expired to a live one.
type InstanceStore interface {
	// RegisterInstance stores a new instance with a lease of ttl from now, setting Started,
	// Heartbeat and Expires. ErrConflict if the id exists.
	RegisterInstance(ctx context.Context, in *Instance, ttl time.Duration) error
	// RenewInstance extends a live lease to now+ttl and returns the new end. A lease that
	// has expired, or was released, cannot be renewed: LeaseLost, and the instance must
	// stop working on what it owned (others may have taken it over).
	RenewInstance(ctx context.Context, id string, ttl time.Duration) (time.Time, error)
	// ReleaseInstance ends the lease at once (deleting the instance), so that what it still
	// owns may be taken over now. Releasing an unknown instance is not an error.
	ReleaseInstance(ctx context.Context, id string) error
	// ListInstances returns every registered instance, live or expired, ordered by id.
	ListInstances(ctx context.Context) ([]*Instance, error)
	// TakeOverJournal makes owner, whose lease must be live, the owner of the entry when
	// the entry has no owner or its owner's lease is not live: the fence grows by one and
	// the revision moves on. Returns the entry as stored then. LeaseLost when owner's
	// own lease is not live; ErrConflict when another live instance owns the entry, or its
	// revision is no longer rev; ErrNotFound.
	TakeOverJournal(ctx context.Context, id string, rev int64, owner string) (*JournalEntry, error)
}

// IdempotencyStore remembers which request keys were already used, so a repeated request
// returns the first result instead of acting twice.
type IdempotencyStore interface {
	// ClaimIdempotencyKey records key -> ref if key is new and returns (ref, true). If the
	// key was claimed before it returns the ref stored then and false. Atomic across
	// instances: of two concurrent claims exactly one wins.
	ClaimIdempotencyKey(ctx context.Context, key, ref string) (stored string, claimed bool, err error)
}
