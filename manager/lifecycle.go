package manager

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/knmproject/knm"
)

// Activate moves a number to in_service for accountID (PUT …/{N}/activate).
func (m *Manager) Activate(ctx context.Context, auth, number, accountID string) (*knm.Number, error) {
	return m.Move(ctx, auth, number, accountID, knm.StateInService)
}

// Reserve moves a number to reserved for accountID (PUT …/{N}/reserve).
func (m *Manager) Reserve(ctx context.Context, auth, number, accountID string) (*knm.Number, error) {
	return m.Move(ctx, auth, number, accountID, knm.StateReserved)
}

// Move moves a number to state to for accountID (Kazoo's assign_to) on behalf of auth,
// following the transition table of kazoo-knm §3.4 exactly. A number that is not stored is
// looked up in the search cache as a discovery row (any query id, any instance) and
// acquired at its carrier; if there is none the error is not_found.
//
// Errors: invalid_state_transition ("from X to Y"), forbidden, no_change_required,
// not_found, not_reconcilable, assign_failure (malformed accountID), unspecified_fault
// (the carrier failed), conflict (the number kept changing under us).
func (m *Manager) Move(ctx context.Context, auth, number, accountID string, to knm.State) (*knm.Number, error) {
	return m.MoveWith(ctx, auth, number, accountID, to, nil)
}

// MoveWith is Move that also merges public fields into the number as it moves (Kazoo's
// public_fields option of activate and reserve): a null value removes a field, as in
// Patch. An empty public changes no field.
func (m *Manager) MoveWith(ctx context.Context, auth, number, accountID string, to knm.State,
	public map[string]json.RawMessage) (*knm.Number, error) {
	num, err := m.CheckNumber(number)
	if err != nil {
		return nil, err
	}
	if accountID != "" && !knm.ValidAccountID(accountID) {
		return nil, assignFailure("invalid account id")
	}
	for range maxWriteAttempts {
		cur, stored, err := m.loadForMove(ctx, num)
		if err != nil {
			return nil, err
		}
		n := cur.Clone()
		a := m.authz(ctx, auth)
		st, err := transition(a, n, to, accountID)
		if err != nil || st.noChange {
			if err != nil {
				return nil, err
			}
			return cur, nil
		}
		mergePublic(n, public)
		if err := m.applyFeatures(ctx, a, n); err != nil {
			return nil, err
		}
		if st.acquire {
			err = m.acquireAndWrite(ctx, cur, n, stored)
		} else {
			err = m.write(ctx, n, stored)
		}
		if !retryable(err) {
			return written(n, err)
		}
	}
	return nil, knm.Conflict("number " + num)
}

// loadForMove returns the stored number, or a discovery number built from the search
// cache (stored=false), or not_found.
func (m *Manager) loadForMove(ctx context.Context, num string) (n *knm.Number, stored bool, err error) {
	n, err = m.store.GetNumber(ctx, num)
	if err == nil {
		return n, true, nil
	}
	if !isNotFound(err) {
		return nil, false, err
	}
	row, err := m.store.FindDiscoveryRow(ctx, num)
	if isNotFound(err) {
		return nil, false, knm.NotFound(num)
	}
	if err != nil {
		return nil, false, err
	}
	n = &knm.Number{Number: num, State: knm.StateDiscovery, CarrierData: row.CarrierData}
	n.SetModule(row.Module)
	return n, false, nil
}

// write stores n: an update guarded by n.Rev, or a create for a number not stored yet.
func (m *Manager) write(ctx context.Context, n *knm.Number, stored bool) error {
	if stored {
		return m.store.UpdateNumber(ctx, n)
	}
	return m.store.CreateNumber(ctx, n)
}

// acquireAndWrite calls the carrier's AcquireNumber, then writes n, under a journal entry.
// A number whose module is not loaded is written without a carrier call, as Kazoo skips a
// module that does not exist (with a log line).
func (m *Manager) acquireAndWrite(ctx context.Context, cur, n *knm.Number, stored bool) error {
	if n.ModuleName == "" {
		return &knm.Error{Name: knm.ErrUnspecifiedFault, Message: "carrier_not_specified", Cause: n.Number}
	}
	c := m.carrier(n.ModuleName)
	if c == nil {
		m.logger.Warn("carrier module not loaded; acquire skipped", "number", n.Number, "module", n.ModuleName)
		return m.write(ctx, n, stored)
	}
	in := intent{Op: opAcquire, Number: n.Number, Module: n.ModuleName, ReadRev: cur.Rev, Target: n}
	if !stored {
		in.ReadRev = 0
	}
	e, err := m.journalled(ctx, in, func(ctx context.Context) error {
		if err := c.AcquireNumber(ctx, n); err != nil {
			return byCarrier(n.Number, n.ModuleName, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = m.write(ctx, n, stored)
	switch {
	case err == nil:
		m.settle(ctx, e, journalDone)
	case retryable(err):
		// Someone else stored or changed the number first. Their write stands; ours is
		// re-evaluated against it by the caller.
		m.settle(ctx, e, journalSuperseded)
	}
	return err
}

// CreateOptions are the options of Create.
type CreateOptions struct {
	AssignTo   string                     // owning account (assign_to)
	State      knm.State                  // create_with_state; default in_service
	ModuleName string                     // carrier module; default available_module_name
	PortedIn   bool                       // ported_in
	Public     map[string]json.RawMessage // public fields of the document
}

// adminCreationStates and additionCreationStates are Kazoo's allowed_creation_states.
var (
	adminCreationStates = []knm.State{knm.StateAging, knm.StateAvailable, knm.StateInService, knm.StatePortIn,
		knm.StateReserved}
	additionCreationStates = []knm.State{knm.StateInService, knm.StateReserved}
)

// Create creates a number, or claims an existing one whose state is aging, available or
// port_in (kazoo-knm §3.5 "Creation"):
//   - the state defaults to in_service; port_in stays port_in; ported_in and knm_mdn
//     force in_service; any other state must be allowed for auth (admins: aging,
//     available, in_service, port_in, reserved; accounts with allow_number_additions:
//     in_service, reserved; others: forbidden, cause state_for_create);
//   - an existing number in another state is number_exists; an existing number that may
//     be claimed goes through the transition table to the state asked for;
//   - a malformed assignee is assign_failure (field_undefined when an owned state has no
//     assignee); available and aging numbers are created unowned.
//
// Kazoo's number_is_porting check (open port requests) is not implemented: knm has no
// port requests yet.
func (m *Manager) Create(ctx context.Context, auth, number string, o CreateOptions) (*knm.Number, error) {
	num, p, err := m.numberAndPolicy(ctx, number)
	if err != nil {
		return nil, err
	}
	a := m.authz(ctx, auth)
	state, err := stateForCreate(a, o, p)
	if err != nil {
		return nil, err
	}
	owned := state != knm.StateAvailable && state != knm.StateAging
	switch {
	case o.AssignTo != "" && !knm.ValidAccountID(o.AssignTo):
		return nil, assignFailure("invalid account id")
	case o.AssignTo == "" && owned:
		return nil, assignFailure("field_undefined")
	}
	for range maxWriteAttempts {
		cur, err := m.store.GetNumber(ctx, num)
		switch {
		case err == nil:
			n, err := m.claim(ctx, a, cur, state, o)
			if knm.IsErrorName(err, knm.ErrConflict) {
				continue
			}
			return n, err
		case !isNotFound(err):
			return nil, err
		}
		n, err := m.newNumber(a, num, state, owned, o, p)
		if err != nil {
			return nil, err
		}
		if err := m.applyFeatures(ctx, a, n); err != nil {
			return nil, err
		}
		if err := m.store.CreateNumber(ctx, n); !retryable(err) {
			return written(n, err)
		}
	}
	return nil, knm.Conflict("number " + num)
}

// stateForCreate is Kazoo's state_for_create plus allowed_creation_states.
func stateForCreate(a *authz, o CreateOptions, p Policy) (knm.State, error) {
	state := o.State
	if state == "" {
		state = knm.StateInService
	}
	switch {
	case state == knm.StatePortIn:
		return state, nil
	case o.PortedIn, o.ModuleName == "knm_mdn":
		return knm.StateInService, nil
	}
	admin, err := a.isAdmin(a.authBy)
	if err != nil {
		return "", err
	}
	allowed := adminCreationStates
	if !admin {
		acc, err := a.account(a.authBy)
		if err != nil {
			return "", err
		}
		allowed = nil
		if acc != nil && acc.AllowNumberAdditions {
			allowed = additionCreationStates
		}
	}
	if !slices.Contains(allowed, state) {
		return "", knm.Forbidden("state_for_create")
	}
	return state, nil
}

// newNumber builds a number that is not stored yet, checking that auth may add numbers.
func (m *Manager) newNumber(a *authz, num string, state knm.State, owned bool, o CreateOptions,
	p Policy) (*knm.Number, error) {
	if !o.PortedIn && state != knm.StatePortIn {
		admin, err := a.isAdmin(a.authBy)
		if err != nil {
			return nil, err
		}
		acc, err := a.account(a.authBy)
		if err != nil {
			return nil, err
		}
		if !admin && (acc == nil || !acc.AllowNumberAdditions) {
			return nil, knm.Forbidden("number_additions")
		}
	}
	n := &knm.Number{Number: num, State: state, PortedIn: o.PortedIn, Public: sanitizePublic(o.Public)}
	module := o.ModuleName
	switch {
	case module != "":
	case state == knm.StatePortIn:
		module = "knm_local" // Kazoo: a number created in port_in is always local
	case o.PortedIn:
		module = p.PortInModuleName
	default:
		module = p.AvailableModuleName
	}
	n.SetModule(module)
	if owned {
		n.AssignedTo = o.AssignTo
		if state == knm.StateReserved {
			pushReserveHistory(n, o.AssignTo)
		}
	}
	return n, nil
}

// claim "creates" an existing number: allowed only from aging, available and port_in,
// through the transition table.
func (m *Manager) claim(ctx context.Context, a *authz, cur *knm.Number, state knm.State,
	o CreateOptions) (*knm.Number, error) {
	switch cur.State {
	case knm.StateAging, knm.StateAvailable, knm.StatePortIn:
	default:
		return nil, knm.NumberExists(cur.Number)
	}
	n := cur.Clone()
	assignTo := o.AssignTo
	st, err := transition(a, n, state, assignTo)
	if err != nil {
		return nil, err
	}
	if o.Public != nil {
		n.Public = sanitizePublic(o.Public)
	}
	if err := m.applyFeatures(ctx, a, n); err != nil {
		return nil, err
	}
	if st.acquire {
		return n, m.acquireAndWrite(ctx, cur, n, true)
	}
	return n, m.store.UpdateNumber(ctx, n)
}

func assignFailure(cause string) *knm.Error {
	return &knm.Error{Name: knm.ErrAssignFailure, Message: "invalid account to assign to", Cause: cause}
}
