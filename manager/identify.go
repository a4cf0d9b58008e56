package manager

import (
	"context"
	"slices"

	"github.com/knmproject/knm"
)

// routableStates are the states in which Kazoo's lookup_account resolves a number to its
// owner: the states in which calls to it are routed.
var routableStates = []knm.State{knm.StatePortIn, knm.StateInService, knm.StatePortOut, knm.StateReserved}

// Identity is the account that routes a number (GET …/{N}/identify).
type Identity struct {
	AccountID string `json:"account_id"`
	Number    string `json:"number"`
}

// IdentifyError says why a number that exists and may be read does not route to an
// account: Cause is "not_in_service" (no owner, or a state calls are not routed in) or
// "account_disabled"; AccountID is the owner, if any.
type IdentifyError struct {
	Cause     string
	AccountID string
	Number    string
}

func (e *IdentifyError) Error() string { return "identify " + e.Number + ": " + e.Cause }

// Identify returns the account a number routes to, as Kazoo's lookup_account does for
// inbound calls: the owner, when the number is in port_in, in_service, port_out or
// reserved and the owner is enabled. auth must be allowed to read the number (as Get);
// a number it may not read is not_found, so numbers cannot be probed. Errors: not_found,
// not_reconcilable, *IdentifyError.
func (m *Manager) Identify(ctx context.Context, auth, number string) (*Identity, error) {
	n, err := m.Get(ctx, auth, number)
	if knm.IsErrorName(err, knm.ErrForbidden) {
		return nil, knm.NotFound(m.Normalize(number))
	}
	if err != nil {
		return nil, err
	}
	if n.AssignedTo == "" || !slices.Contains(routableStates, n.State) {
		return nil, &IdentifyError{Cause: "not_in_service", AccountID: n.AssignedTo, Number: n.Number}
	}
	acc, err := m.store.GetAccount(ctx, n.AssignedTo)
	switch {
	case isNotFound(err):
		// The owner's account is gone: nothing to route to.
		return nil, &IdentifyError{Cause: "not_in_service", AccountID: n.AssignedTo, Number: n.Number}
	case err != nil:
		return nil, err
	case !acc.Enabled:
		return nil, &IdentifyError{Cause: "account_disabled", AccountID: n.AssignedTo, Number: n.Number}
	}
	return &Identity{AccountID: n.AssignedTo, Number: n.Number}, nil
}
