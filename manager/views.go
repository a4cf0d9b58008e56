package manager

import (
	"context"
	"strings"

	"github.com/knmproject/knm"
)

// The decisions below are shared by every front end (the REST API and the web console), so
// an account sees and may do exactly the same through either.

// ScopedAccount returns account id if me may act on it: me itself, one of its descendants
// (a reseller acts on its sub-accounts), or anything for a superduper admin. A non-admin
// gets forbidden for any account outside its tree, existing or not, so account ids cannot
// be probed. Errors: invalid (malformed id), forbidden, not_found (admins only).
func (m *Manager) ScopedAccount(ctx context.Context, me *knm.Account, id string) (*knm.Account, error) {
	if !knm.ValidAccountID(id) {
		return nil, knm.Errorf(knm.ErrInvalid, "account id must be 32 hexadecimal characters").WithCause("account_id")
	}
	if strings.EqualFold(me.ID, id) {
		return me, nil
	}
	acc, err := m.store.GetAccount(ctx, id)
	if isNotFound(err) && id != strings.ToLower(id) {
		acc, err = m.store.GetAccount(ctx, strings.ToLower(id)) // ids are hex: Kazoo's are lower-case
	}
	switch {
	case isNotFound(err) && !me.SuperduperAdmin:
		return nil, knm.Forbidden("account " + id + " is not in your account tree")
	case isNotFound(err):
		return nil, &knm.Error{Name: knm.ErrNotFound, Message: "account " + id + " not found", Cause: id}
	case err != nil:
		return nil, err
	}
	if !me.SuperduperAdmin && !acc.HasInHierarchy(me.ID) {
		return nil, knm.Forbidden("account " + id + " is not in your account tree")
	}
	return acc, nil
}

// MayOrder says whether me may use a carrier's native ordering: the master always, a
// reseller (for its own tree) unless masterOnly. It returns nil or a forbidden error.
func MayOrder(me *knm.Account, masterOnly bool) error {
	if me.SuperduperAdmin || (!masterOnly && me.Reseller) {
		return nil
	}
	if masterOnly {
		return knm.Forbidden("master account only")
	}
	return knm.Forbidden("master or reseller accounts only")
}

// OwnsOrder reports whether me may see a native order bought for assignTo: the master sees
// every order, others those for themselves or their descendants.
func (m *Manager) OwnsOrder(ctx context.Context, me *knm.Account, assignTo string) bool {
	if me.SuperduperAdmin || assignTo == me.ID {
		return true
	}
	if assignTo == "" {
		return false
	}
	acc, err := m.store.GetAccount(ctx, assignTo)
	return err == nil && acc.HasInHierarchy(me.ID)
}

// ReleaseEffect is what releasing a number would do, for a confirmation that names it.
type ReleaseEffect struct {
	Number *knm.Number // as stored now
	// Deleted: the number leaves knm (a local number, should_permanently_delete, or a
	// carrier that takes it back for good, as Voxbone cancels the DID).
	Deleted bool
	// CarrierTakesBack: the carrier gives the number up for good on release.
	CarrierTakesBack bool
	State            knm.State // the state it is left in when not deleted
	AssignedTo       string    // the account it goes back to (a reservation unwinding), or ""
}

// ReleasePreview says what Release would do to number for auth, changing nothing. It
// refuses exactly what Release refuses (not_found, invalid_state_transition, forbidden).
func (m *Manager) ReleasePreview(ctx context.Context, auth, number string) (*ReleaseEffect, error) {
	// Deliberately Release's own checks, in its order, so the preview refuses what it refuses.
	num, err := m.CheckNumber(number)
	if err != nil {
		return nil, err
	}
	p, err := m.currentPolicy(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := m.store.GetNumber(ctx, num)
	if err != nil {
		return nil, err
	}
	if !knm.IsLocalModule(cur.ModuleName) && !containsState(releasableStates, cur.State) {
		return nil, knm.InvalidStateTransition(cur.State, knm.StateReleased)
	}
	if err := require(m.authz(ctx, auth).isAuthorized(cur, "")); err != nil {
		return nil, err
	}
	takesBack := knm.ReturnsNumberOnDisconnect(m.carrier(cur.ModuleName))
	n, del := releaseTarget(cur, p, takesBack)
	return &ReleaseEffect{Number: cur, Deleted: del, CarrierTakesBack: takesBack && n.AssignedTo == "",
		State: n.State, AssignedTo: n.AssignedTo}, nil
}

// Count returns how many numbers of accountID match f (every number for an admin when
// accountID is ""), with List's permission rule.
func (m *Manager) Count(ctx context.Context, auth, accountID string, f ListFilter) (int, error) {
	nf, err := m.listFilter(ctx, auth, accountID, f)
	if err != nil {
		return 0, err
	}
	return m.store.CountNumbers(ctx, nf)
}
