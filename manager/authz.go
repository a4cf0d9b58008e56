package manager

import (
	"context"
	"slices"

	"github.com/knmproject/knm"
)

// authz evaluates Kazoo's permission predicates (kazoo-knm §3.5) for one acting account,
// loading the accounts it needs from the store once per operation.
type authz struct {
	ctx      context.Context
	store    knm.AccountStore
	authBy   string
	accounts map[string]*knm.Account // nil value: not stored
}

func (m *Manager) authz(ctx context.Context, authBy string) *authz {
	return &authz{ctx: ctx, store: m.store, authBy: authBy, accounts: map[string]*knm.Account{}}
}

// account returns the stored account, nil when it does not exist. The system pseudo-account
// is synthesised, never stored.
func (a *authz) account(id string) (*knm.Account, error) {
	if id == "" {
		return nil, nil
	}
	if id == knm.SystemAccountID {
		return &knm.Account{ID: knm.SystemAccountID}, nil
	}
	if acc, ok := a.accounts[id]; ok {
		return acc, nil
	}
	acc, err := a.store.GetAccount(a.ctx, id)
	if isNotFound(err) {
		acc, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	a.accounts[id] = acc
	return acc, nil
}

// isAdmin is Kazoo's is_admin: the system pseudo-account or a superduper admin.
func (a *authz) isAdmin(id string) (bool, error) {
	if id == knm.SystemAccountID {
		return true, nil
	}
	acc, err := a.account(id)
	return acc != nil && acc.SuperduperAdmin, err
}

// inHierarchy is Kazoo's is_in_account_hierarchy(anc, of): anc == of, or anc is in of's
// pvt_tree. An account that is not stored has no ancestors.
func (a *authz) inHierarchy(anc, of string) (bool, error) {
	if anc == "" || of == "" {
		return false, nil
	}
	if anc == of {
		return true, nil
	}
	acc, err := a.account(of)
	return acc != nil && slices.Contains(acc.Tree, anc), err
}

// mayList returns forbidden unless auth is an admin or accountID itself or one of its
// ancestors: the rule for listing, counting and fixing an account's numbers.
func (a *authz) mayList(auth, accountID string) error {
	admin, err := a.isAdmin(auth)
	if err != nil || admin {
		return err
	}
	return require(a.inHierarchy(auth, accountID))
}

// isAuthorized is Kazoo's is_authorized for a number about to be assigned to assignTo.
func (a *authz) isAuthorized(n *knm.Number, assignTo string) (bool, error) {
	switch {
	case a.authBy == knm.SystemAccountID:
		return true, nil
	case a.authBy == "":
		return false, nil
	}
	admin, err := a.isAdmin(a.authBy)
	if err != nil || admin {
		return admin, err
	}
	owner := n.AssignedTo
	if owner == "" {
		owner = assignTo
	}
	// Both unset: only an admin, which was answered above.
	return a.inHierarchy(a.authBy, owner)
}

// isReservedFromParent is Kazoo's number_belongs_to_parent: the number is reserved and its
// owner is an admin or an ancestor of (or equal to) the acting account, so a reseller's
// reservation may be taken by its descendants.
func (a *authz) isReservedFromParent(n *knm.Number) (bool, error) {
	if n.State != knm.StateReserved || n.AssignedTo == "" || a.authBy == "" {
		return false, nil
	}
	admin, err := a.isAdmin(n.AssignedTo)
	if err != nil || admin {
		return admin, err
	}
	return a.inHierarchy(n.AssignedTo, a.authBy)
}

// canRead is the read rule of handle_fetch: available numbers are public; others need
// is_authorized or is_reserved_from_parent.
func (a *authz) canRead(n *knm.Number) (bool, error) {
	if n.State == knm.StateAvailable {
		return true, nil
	}
	ok, err := a.isAuthorized(n, "")
	if err != nil || ok {
		return ok, err
	}
	return a.isReservedFromParent(n)
}

// require turns a predicate's answer into Kazoo's unauthorized error.
func require(ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return knm.Forbidden("")
	}
	return nil
}
