package manager

import (
	"github.com/knmproject/knm"
)

// step is what a transition asks of the caller once the number has been changed in memory.
type step struct {
	noChange bool // nothing to write (in_service -> in_service for the same owner)
	acquire  bool // call the carrier's AcquireNumber before writing
}

// transition applies Kazoo's transition table (kazoo-knm §3.4, knm_number_states.erl) to
// n, a copy of the current number, moving it to state to for account assignTo on behalf of
// a.authBy. It changes n in memory only; the caller writes it.
// It is longer than 80 lines because it transcribes Kazoo's state table case by case.
func transition(a *authz, n *knm.Number, to knm.State, assignTo string) (step, error) {
	from := n.State
	mdn := n.ModuleName == "knm_mdn"
	switch to {
	case knm.StateReserved, knm.StateAvailable, knm.StateAging, knm.StatePortIn:
		if mdn {
			// Kazoo's fail_if_mdn/2 names the module where the from-state belongs.
			return step{}, knm.InvalidStateTransition("'MDN'", to)
		}
	case knm.StateInService:
		if mdn && from != knm.StateInService {
			return step{}, knm.InvalidStateTransition(from, to)
		}
	}
	invalid := func() (step, error) { return step{}, knm.InvalidStateTransition(from, to) }

	switch to {
	case knm.StateInService:
		switch from {
		case knm.StateInService:
			if n.AssignedTo == assignTo {
				return step{noChange: true}, nil
			}
			if err := require(a.isAuthorized(n, assignTo)); err != nil {
				return step{}, err
			}
			moveToState(n, to, assignTo)
			return step{}, nil
		case knm.StateDiscovery:
			if err := require(a.isAuthorized(n, assignTo)); err != nil {
				return step{}, err
			}
			moveToState(n, to, assignTo)
			return step{acquire: true}, nil
		case knm.StatePortIn:
			if err := require(a.isAuthorized(n, assignTo)); err != nil {
				return step{}, err
			}
			moveToState(n, to, assignTo)
			return step{}, nil
		case knm.StateAvailable, knm.StateAging:
			// Everyone may buy an available (or aging) number; no carrier is contacted.
			moveToState(n, to, assignTo)
			return step{}, nil
		case knm.StateReserved:
			ok, err := a.isAuthorized(n, assignTo)
			if err == nil && !ok {
				ok, err = a.isReservedFromParent(n)
			}
			if err := require(ok, err); err != nil {
				return step{}, err
			}
			moveToState(n, to, assignTo)
			return step{}, nil
		}
		return invalid()

	case knm.StateReserved:
		switch from {
		case knm.StateReserved:
			// not_assigning_to_self comes before authorize.
			if assignTo == "" {
				return step{}, knm.Forbidden("")
			}
			if assignTo == n.AssignedTo {
				return step{}, &knm.Error{Name: knm.ErrNoChangeRequired, Message: "no change required"}
			}
			if err := require(a.isAuthorized(n, assignTo)); err != nil {
				return step{}, err
			}
			pushReserveHistory(n, assignTo)
			moveToState(n, to, assignTo)
			return step{acquire: true}, nil
		case knm.StateDiscovery, knm.StateAvailable, knm.StateInService:
			if err := require(a.isAuthorized(n, assignTo)); err != nil {
				return step{}, err
			}
			pushReserveHistory(n, assignTo)
			moveToState(n, to, assignTo)
			return step{acquire: from == knm.StateDiscovery}, nil
		}
		return invalid()

	case knm.StateAvailable:
		if from != knm.StateAvailable {
			return invalid()
		}
		if err := require(a.isAuthorized(n, assignTo)); err != nil {
			return step{}, err
		}
		moveToState(n, to, assignTo)
		return step{}, nil

	case knm.StateAging:
		if from != knm.StateAging && from != knm.StateReleased && from != knm.StateAvailable {
			return invalid()
		}
		moveToState(n, to, assignTo)
		return step{}, nil

	case knm.StatePortIn:
		if from != knm.StatePortIn {
			return invalid()
		}
		// Kazoo sets port_in <- port_in without a check, which lets any account take over a
		// number another account is porting in by "creating" it again. knm requires the
		// right to act for the current owner when the owner changes.
		if n.AssignedTo != "" && n.AssignedTo != assignTo {
			if err := require(a.isAuthorized(n, assignTo)); err != nil {
				return step{}, err
			}
		}
		moveToState(n, to, assignTo)
		return step{}, nil
	}
	// released, port_out, deleted, discovery and unknown targets.
	return invalid()
}

// moveToState is Kazoo's move_phone_number_to_state: for any target but available the
// owner becomes assignTo (recording the previous owner and clearing used_by), then the
// state is set. Moving to available changes only the state.
func moveToState(n *knm.Number, to knm.State, assignTo string) {
	if to != knm.StateAvailable && n.AssignedTo != assignTo {
		setAssignedTo(n, assignTo)
	}
	n.State = to
}

// setAssignedTo is Kazoo's set_assigned_to.
func setAssignedTo(n *knm.Number, owner string) {
	if n.AssignedTo == owner {
		return
	}
	if n.AssignedTo != "" {
		n.PreviouslyAssignedTo = n.AssignedTo
	}
	n.AssignedTo = owner
	n.UsedBy = ""
}

// pushReserveHistory is Kazoo's add_reserve_history: the account goes on top unless it is
// already there.
func pushReserveHistory(n *knm.Number, account string) {
	if account == "" || (len(n.ReserveHistory) > 0 && n.ReserveHistory[0] == account) {
		return
	}
	n.ReserveHistory = append([]string{account}, n.ReserveHistory...)
}
