package emulator

import "time"

// Fault injects a failure into matching requests. Faults are counted and applied only to
// requests that passed the rate limit, authentication and routing, i.e. that would
// otherwise reach the endpoint.
type Fault struct {
	// Endpoint is the endpoint name (e.g. "cart.checkout"); "" matches every endpoint.
	Endpoint string
	// Nth is 1-based: fault the Nth matching call counted from when the fault was added;
	// 0 faults every call.
	Nth int
	// Times is how many calls to fault starting at Nth: 0 means 1 if Nth > 0, and
	// unlimited if Nth == 0.
	Times int
	// Status, if non-zero, is the HTTP status to answer with, with a Voxbone error envelope
	// whose apiErrorCode is the status. A status outside 100..999 is answered as 500.
	Status int
	// Latency is an extra delay before handling.
	Latency time.Duration
	// Drop hijacks and closes the connection without any response. It wins over Status.
	Drop bool
	// AfterEffect, with Drop or Status, performs the real operation first (a checkout
	// really happens) and then drops or replaces the response: the request went through
	// but the reply was lost.
	AfterEffect bool
}

type faultState struct {
	Fault
	seen int
}

// activeFault is the combined effect of the faults matching one request: latencies add up,
// and the first matching fault with Drop or Status decides the outcome.
type activeFault struct {
	latency     time.Duration
	status      int
	drop        bool
	afterEffect bool
}

// AddFault installs a fault; faults stay until ClearFaults.
func (e *Emulator) AddFault(f Fault) {
	if f.Status != 0 && (f.Status < 100 || f.Status > 999) {
		f.Status = 500
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// takeFault counts a call to endpoint against every fault and returns their effect.
func (e *Emulator) takeFault(endpoint string) activeFault {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out activeFault
	decided := false
	for _, f := range e.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		f.seen++
		if !f.fires(f.seen) {
			continue
		}
		out.latency += f.Latency
		if !decided && (f.Drop || f.Status != 0) {
			decided = true
			out.drop, out.status, out.afterEffect = f.Drop, f.Status, f.AfterEffect
		}
	}
	return out
}

// fires reports whether the nth matching call is faulted.
func (f *Fault) fires(n int) bool {
	if f.Nth <= 0 {
		return f.Times <= 0 || n <= f.Times
	}
	times := f.Times
	if times <= 0 {
		times = 1
	}
	return n >= f.Nth && n < f.Nth+times
}
