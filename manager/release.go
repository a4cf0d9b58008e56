package manager

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/knmproject/knm"
)

// releasableStates are the states Kazoo's can_release accepts (any state for knm_local).
var releasableStates = []knm.State{knm.StateReleased, knm.StateReserved, knm.StatePortIn, knm.StateInService}

// Release releases a number on behalf of auth (DELETE without hard, kazoo-knm §3.5–3.6):
//  1. it must be in released, reserved, port_in or in_service (any state for knm_local),
//     else invalid_state_transition "from X to released"; auth must pass is_authorized;
//  2. features and public fields are reset;
//  3. the reserve history unwinds: [Current, Prev | Rest] gives the number back to Prev,
//     reserved; otherwise it becomes unowned in released_state;
//  4. an unowned number is disconnected at its carrier, then deleted if
//     should_permanently_delete, its module is knm_local/knm_mdn or its carrier takes it
//     back for good (knm.NumberReturner: Voxbone cancels the DID), else an available
//     number goes to aging when should_age.
//
// It returns the number as stored afterwards, or nil when it was deleted.
func (m *Manager) Release(ctx context.Context, auth, number string) (*knm.Number, error) {
	num, err := m.normalizeNumber(number)
	if err != nil {
		return nil, err
	}
	p, err := m.currentPolicy(ctx)
	if err != nil {
		return nil, err
	}
	var disconnected *knm.JournalEntry // set once the carrier call succeeded
	for range maxWriteAttempts {
		cur, err := m.store.GetNumber(ctx, num)
		if err != nil {
			if disconnected != nil && isNotFound(err) {
				m.settle(ctx, disconnected, journalSuperseded)
			}
			return nil, err
		}
		if !knm.IsLocalModule(cur.ModuleName) && !containsState(releasableStates, cur.State) {
			return nil, knm.InvalidStateTransition(cur.State, knm.StateReleased)
		}
		if err := require(m.authz(ctx, auth).isAuthorized(cur, "")); err != nil {
			return nil, err
		}
		n, del := releaseTarget(cur, p, knm.ReturnsNumberOnDisconnect(m.carrier(cur.ModuleName)))
		if n.AssignedTo != "" {
			// Back to the parent that reserved it: no carrier involved.
			if err := m.store.UpdateNumber(ctx, n); retryable(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			return n, nil
		}
		if disconnected == nil {
			disconnected, err = m.disconnect(ctx, cur, n, del)
			if err != nil {
				return nil, err
			}
		}
		if del {
			err = m.store.DeleteNumber(ctx, num, cur.Rev)
		} else {
			err = m.store.UpdateNumber(ctx, n)
		}
		if retryable(err) {
			// The carrier already let the number go: retry only the write, against what is
			// stored now, without calling the carrier again.
			continue
		}
		if err != nil {
			return nil, err
		}
		m.settle(ctx, disconnected, journalDone)
		if del {
			return nil, nil
		}
		return n, nil
	}
	return nil, knm.Conflict("number " + num)
}

// releaseTarget returns what cur becomes on release and whether it is to be deleted.
// carrierTakesBack says the carrier's disconnect gives the number up for good (see
// knm.NumberReturner), so an unowned number must leave the pool.
func releaseTarget(cur *knm.Number, p Policy, carrierTakesBack bool) (*knm.Number, bool) {
	n := cur.Clone()
	n.Features = nil
	n.SetModule(n.ModuleName) // a local number keeps its "local" feature
	n.Public = nil
	if len(n.ReserveHistory) >= 2 {
		setAssignedTo(n, n.ReserveHistory[1])
		n.ReserveHistory = n.ReserveHistory[1:]
		n.State = knm.StateReserved
		return n, false
	}
	setAssignedTo(n, "")
	n.ReserveHistory = nil
	n.State = knm.State(p.ReleasedState)
	if p.ShouldPermanentlyDelete || knm.IsLocalModule(n.ModuleName) || carrierTakesBack {
		return n, true
	}
	if n.State == knm.StateAvailable && p.ShouldAge {
		n.State = knm.StateAging
	}
	return n, false
}

// disconnect calls the carrier's DisconnectNumber under a journal entry. A module that is
// not loaded counts as success, as Kazoo counts an error-class exception.
func (m *Manager) disconnect(ctx context.Context, cur, n *knm.Number, del bool) (*knm.JournalEntry, error) {
	c := m.carrier(cur.ModuleName)
	if c == nil {
		m.logger.Warn("carrier module not loaded; disconnect skipped", "number", cur.Number, "module", cur.ModuleName)
	}
	in := intent{Op: opDisconnect, Number: cur.Number, Module: cur.ModuleName, ReadRev: cur.Rev, Target: n, Delete: del}
	return m.journalled(ctx, in, func(ctx context.Context) error {
		if c == nil {
			return nil
		}
		if err := c.DisconnectNumber(ctx, cur.Clone()); err != nil {
			return byCarrier(cur.Number, cur.ModuleName, err)
		}
		return nil
	})
}

// Delete removes a number for good (DELETE …?hard=true): only the system pseudo-account
// and superduper admins may, and no state is checked. The carrier is not told.
func (m *Manager) Delete(ctx context.Context, auth, number string) error {
	num, err := m.normalizeNumber(number)
	if err != nil {
		return err
	}
	if err := require(m.authz(ctx, auth).isAdmin(auth)); err != nil {
		return err
	}
	for range maxWriteAttempts {
		cur, err := m.store.GetNumber(ctx, num)
		if err != nil {
			return err
		}
		if err := m.store.DeleteNumber(ctx, num, cur.Rev); !retryable(err) {
			return err
		}
	}
	return knm.Conflict("number " + num)
}

// Update replaces the public fields of a number (POST …/{N}); auth needs is_authorized.
func (m *Manager) Update(ctx context.Context, auth, number string, public map[string]json.RawMessage) (*knm.Number, error) {
	return m.changePublic(ctx, auth, number, func(*knm.Number) map[string]json.RawMessage {
		return sanitizePublic(public)
	})
}

// Patch merges fields into the public fields of a number (PATCH …/{N}); a null value
// removes a field, as in a JSON merge patch. auth needs is_authorized.
func (m *Manager) Patch(ctx context.Context, auth, number string, public map[string]json.RawMessage) (*knm.Number, error) {
	return m.changePublic(ctx, auth, number, func(n *knm.Number) map[string]json.RawMessage {
		out := n.Public
		if out == nil {
			out = map[string]json.RawMessage{}
		}
		for k, v := range sanitizePublic(public) {
			if string(v) == "null" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	})
}

func (m *Manager) changePublic(ctx context.Context, auth, number string, change func(*knm.Number) map[string]json.RawMessage) (*knm.Number, error) {
	num, err := m.normalizeNumber(number)
	if err != nil {
		return nil, err
	}
	for range maxWriteAttempts {
		cur, err := m.store.GetNumber(ctx, num)
		if err != nil {
			return nil, err
		}
		if err := require(m.authz(ctx, auth).isAuthorized(cur, "")); err != nil {
			return nil, err
		}
		n := cur.Clone()
		n.Public = change(n)
		if err := m.store.UpdateNumber(ctx, n); !retryable(err) {
			if err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, knm.Conflict("number " + num)
}

// sanitizePublic drops private keys and the keys Kazoo's sanitize_public_fields removes.
func sanitizePublic(in map[string]json.RawMessage) map[string]json.RawMessage {
	if in == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(in))
	for k, v := range in {
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "pvt_") || k == "id" || k == "used_by" {
			continue
		}
		out[k] = v
	}
	return out
}

// ListFilter narrows List.
type ListFilter struct {
	States []knm.State
	Prefix string
	Module string // pvt_module_name; "" for any
	Offset int
	Limit  int
}

// List returns the numbers assigned to accountID and how many match in all. auth must be
// an admin or accountID itself or one of its ancestors (forbidden otherwise). An empty
// accountID lists every number, for admins only.
func (m *Manager) List(ctx context.Context, auth, accountID string, f ListFilter) ([]*knm.Number, int, error) {
	a := m.authz(ctx, auth)
	admin, err := a.isAdmin(auth)
	if err != nil {
		return nil, 0, err
	}
	nf := knm.NumberFilter{States: f.States, Prefix: f.Prefix, Module: f.Module, Offset: f.Offset, Limit: f.Limit}
	if accountID != "" {
		nf.AssignedTo = &accountID
	}
	if !admin {
		ok, err := a.inHierarchy(auth, accountID)
		if err := require(ok, err); err != nil {
			return nil, 0, err
		}
	}
	total, err := m.store.CountNumbers(ctx, nf)
	if err != nil {
		return nil, 0, err
	}
	ns, err := m.store.FindNumbers(ctx, nf)
	return ns, total, err
}

func containsState(ss []knm.State, s knm.State) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}
