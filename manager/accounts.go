package manager

import (
	"context"
	"slices"
	"strings"

	"github.com/knmproject/knm"
)

// CreateAccount creates an account under parentID on behalf of auth, building its Tree
// (the parent's tree plus the parent) and ResellerID (itself when reseller, else the
// parent's reseller, or the parent when the parent is a reseller). Only admins may create
// a root account (empty parentID); otherwise auth must be the parent or one of its
// ancestors, and only admins may create a reseller (Kazoo's private pvt_reseller flag): a
// reseller may buy from carriers for its whole tree. The hierarchy is checked before the
// parent is read, so a non-admin cannot tell a missing account from a foreign one.
// Errors: invalid (empty name), not_found (parent), forbidden.
func (m *Manager) CreateAccount(ctx context.Context, auth, name, parentID string, reseller bool) (*knm.Account, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, knm.Errorf(knm.ErrInvalid, "account name is required").WithCause("name")
	}
	a := m.authz(ctx, auth)
	admin, err := a.isAdmin(auth)
	if err != nil {
		return nil, err
	}
	if reseller && !admin {
		return nil, knm.Forbidden("only an admin may create a reseller")
	}
	now := m.now()
	acc := &knm.Account{ID: knm.NewAccountID(), Name: name, Reseller: reseller, Enabled: true, Created: now, Modified: now}
	if parentID != "" {
		if !admin {
			ok, err := a.inHierarchy(auth, parentID)
			if knm.IsErrorName(err, knm.ErrNotFound) {
				err = nil // a missing parent looks like a foreign one
			}
			if err := require(ok, err); err != nil {
				return nil, err
			}
		}
		parent, err := m.store.GetAccount(ctx, parentID)
		if err != nil {
			return nil, err
		}
		acc.ParentID = parent.ID
		acc.Tree = append(append([]string{}, parent.Tree...), parent.ID)
		acc.ResellerID = parent.ResellerID
		if parent.Reseller {
			acc.ResellerID = parent.ID
		}
	} else if !admin {
		return nil, knm.Forbidden("root account")
	}
	if reseller {
		acc.ResellerID = acc.ID
	}
	if err := m.store.CreateAccount(ctx, acc); err != nil {
		return nil, err
	}
	return acc, nil
}

// ListAccounts returns the accounts auth may see: every account for admins, else auth
// itself and its descendants, ordered by id.
func (m *Manager) ListAccounts(ctx context.Context, auth string) ([]*knm.Account, error) {
	a := m.authz(ctx, auth)
	admin, err := a.isAdmin(auth)
	if err != nil {
		return nil, err
	}
	if admin {
		return m.store.FindAccounts(ctx, knm.AccountFilter{})
	}
	self, err := a.account(auth)
	if err != nil {
		return nil, err
	}
	if self == nil {
		return nil, knm.Forbidden("")
	}
	below, err := m.store.FindAccounts(ctx, knm.AccountFilter{Ancestor: auth})
	if err != nil {
		return nil, err
	}
	out := append([]*knm.Account{self}, below...)
	slices.SortFunc(out, func(x, y *knm.Account) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}
