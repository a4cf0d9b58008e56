package knm

import "fmt"

// State is the lifecycle state of a phone number, spelled as Kazoo spells it.
type State string

// The nine states of Kazoo's number manager (kazoo-knm §3.3).
const (
	// StateDiscovery is a number found through a carrier search and not yet acquired.
	StateDiscovery State = "discovery"
	// StatePortIn is a number being ported in.
	StatePortIn State = "port_in"
	// StateAvailable is a number routed to the platform but owned by nobody.
	StateAvailable State = "available"
	// StateReserved is a number assigned to an account but not in use.
	StateReserved State = "reserved"
	// StateInService is a number assigned and in use.
	StateInService State = "in_service"
	// StateReleased is an optional pool state, used only when released_state says so.
	StateReleased State = "released"
	// StatePortOut is an internal state, routed like in_service.
	StatePortOut State = "port_out"
	// StateAging is a released non-local number waiting to become available again.
	StateAging State = "aging"
	// StateDeleted only marks a number being deleted; it is never stored.
	StateDeleted State = "deleted"
)

// States lists every state in Kazoo's documentation order.
var States = []State{
	StateDiscovery, StatePortIn, StateAvailable, StateReserved, StateInService,
	StateReleased, StatePortOut, StateAging, StateDeleted,
}

// Valid reports whether s is one of the nine states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// ParseState returns the state named by s, or an invalid error naming the bad value.
func ParseState(s string) (State, error) {
	st := State(s)
	if !st.Valid() {
		return "", Errorf(ErrInvalid, "unknown state %q", s).WithCause(fmt.Sprintf("state must be one of %v", States))
	}
	return st, nil
}
