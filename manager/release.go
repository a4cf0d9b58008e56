package manager

import (
	"context"

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
	num, p, err := m.numberAndPolicy(ctx, number)
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
	n.State = p.ReleasedState
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
	num, err := m.CheckNumber(number)
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
