package manager

import (
	"context"
	"slices"

	"github.com/knmproject/knm"
)

// ListingQuery is the account listing of crossbar's GET …/phone_numbers without prefix.
type ListingQuery struct {
	States []knm.State // filter_state: any of these; none means any
	// AssignedTo is filter_assigned_to: only the numbers of this account, which must be
	// the listed account or (with Cascade) one of its descendants; "" for no filter.
	AssignedTo string
	// Cascade lists the numbers of the account's descendants too (?cascade=true).
	Cascade bool
	Page    knm.ListOptions // keyset paging: start_key is Page.After, page_size Page.Limit
}

// Listing is one page of an account listing.
type Listing struct {
	Numbers []*knm.Number
	Next    string // next_start_key; "" on the last page
	// CascadeQuantity is Kazoo's cascade_quantity: how many numbers the account's
	// descendants hold (its own are not counted).
	CascadeQuantity int
}

// ListAccount returns one page of accountID's numbers (and its descendants' with Cascade),
// with ListPage's permission rule: auth must be an admin or accountID or one of its
// ancestors. Errors: forbidden, invalid (page options).
func (m *Manager) ListAccount(ctx context.Context, auth, accountID string, q ListingQuery) (*Listing, error) {
	if err := m.authz(ctx, auth).mayList(auth, accountID); err != nil {
		return nil, err
	}
	descendants, err := m.descendants(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := &Listing{}
	if len(descendants) > 0 {
		if out.CascadeQuantity, err = m.store.CountNumbers(ctx,
			knm.NumberFilter{AssignedToAny: descendants}); err != nil {
			return nil, err
		}
	}
	owners := []string{accountID}
	if q.Cascade {
		owners = append(owners, descendants...)
	}
	if q.AssignedTo != "" {
		if !slices.Contains(owners, q.AssignedTo) {
			return out, nil // an account outside the listing holds none of its numbers
		}
		owners = []string{q.AssignedTo}
	}
	page, err := m.store.ListNumbers(ctx, knm.NumberFilter{AssignedToAny: owners, States: q.States}, q.Page)
	if err != nil {
		return nil, err
	}
	out.Numbers, out.Next = page.Numbers, page.Next
	return out, nil
}

// descendants returns the ids of every account below accountID.
func (m *Manager) descendants(ctx context.Context, accountID string) ([]string, error) {
	accs, err := m.store.FindAccounts(ctx, knm.AccountFilter{Ancestor: accountID})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(accs))
	for _, acc := range accs {
		if acc.ID != accountID {
			ids = append(ids, acc.ID)
		}
	}
	return ids, nil
}
