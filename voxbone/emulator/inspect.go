package emulator

import (
	"fmt"
	"slices"
)

// Inspection and set-up helpers for tests. They take the same lock as requests.

// Requests returns every request received since the last ResetRequests, in arrival order,
// including rate-limited, unauthorised and faulted ones (at most the latest 100 000).
// Status is 0 for a request still in flight or whose connection was dropped.
func (e *Emulator) Requests() []RequestRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RequestRecord, len(e.requests))
	for i, r := range e.requests {
		out[i] = *r
		out[i].Body = slices.Clone(r.Body)
	}
	return out
}

// ResetRequests forgets the recorded requests (and so resets Calls).
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = nil
	e.calls = map[string]int{}
}

// Calls counts the recorded requests to an endpoint, whatever their outcome.
func (e *Emulator) Calls(endpoint string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[endpoint]
}

// Balance returns the account balance in currency units.
func (e *Emulator) Balance() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.balance
}

// SetBalance sets the account balance in currency units.
func (e *Emulator) SetBalance(b float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.balance = b
}

// SetStock sets the stock of a DID group; it fails for an unknown group or negative stock.
func (e *Emulator) SetStock(didGroupID int, stock int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[didGroupID]
	if g == nil {
		return fmt.Errorf("emulator: unknown DID group %d", didGroupID)
	}
	if stock < 0 {
		return fmt.Errorf("emulator: negative stock %d for DID group %d", stock, didGroupID)
	}
	g.Stock = stock
	return nil
}

// DIDGroup returns a copy of a catalogue group, with its current stock.
func (e *Emulator) DIDGroup(id int) (DIDGroup, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[id]
	if g == nil {
		return DIDGroup{}, false
	}
	return cloneGroup(g), true
}

// AddDIDGroup adds a group to the catalogue, or replaces the group with the same id. A zero
// DIDGroupID gets a fresh id; nil Features become an empty list.
func (e *Emulator) AddDIDGroup(g DIDGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g.DIDGroupID == 0 {
		g.DIDGroupID = 900000
		for e.groups[g.DIDGroupID] != nil {
			g.DIDGroupID++
		}
	}
	c := cloneGroup(&g)
	e.groups[c.DIDGroupID] = &c
}

// DIDs returns the account's current DIDs (not cancelled), by didId.
func (e *Emulator) DIDs() []DID {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DID
	for _, d := range e.dids {
		if !d.cancelled {
			out = append(out, cloneDID(&d.DID))
		}
	}
	slices.SortFunc(out, func(a, b DID) int { return a.DIDID - b.DIDID })
	return out
}

// Carts returns the open (not deleted) carts, by cartIdentifier.
func (e *Emulator) Carts() []Cart {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Cart
	for _, c := range e.sortedCarts() {
		out = append(out, c.view())
	}
	return out
}

// Orders returns every order placed by checkouts, oldest first.
func (e *Emulator) Orders() []Order {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Order, 0, len(e.orders))
	for _, o := range e.orders {
		out = append(out, cloneOrder(*o))
	}
	return out
}

// VoiceURIs returns the account's voice URIs, by voiceUriId.
func (e *Emulator) VoiceURIs() []VoiceURI {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]VoiceURI, 0, len(e.voiceURIs))
	for _, v := range e.voiceURIs {
		out = append(out, cloneVoiceURI(v))
	}
	slices.SortFunc(out, func(a, b VoiceURI) int { return a.VoiceURIID - b.VoiceURIID })
	return out
}
