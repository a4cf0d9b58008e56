package emulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Username: "user", Password: "secret", APIKey: "k3y"})
	get := func(user, pass string, hdr http.Header) (int, apiError) {
		h2 := *h
		h2.user, h2.pass = user, pass
		resp, data, err := h2.try("GET", "ordering/accountbalance", nil, hdr)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			return resp.StatusCode, decodeEnvelope(t, data)
		}
		return resp.StatusCode, apiError{}
	}
	if st, env := get("", "", nil); st != 401 || env.HTTPStatusCode != 401 {
		t.Fatalf("no credentials: %d %+v", st, env)
	}
	if st, _ := get("user", "wrong", nil); st != 401 {
		t.Fatalf("wrong password: %d", st)
	}
	if st, _ := get("user", "secret", nil); st != 200 {
		t.Fatalf("right credentials: %d", st)
	}
	if st, _ := get("", "", http.Header{"Apikey": {"k3y"}}); st != 200 {
		t.Fatalf("apikey: %d", st)
	}
	if st, _ := get("", "", http.Header{"Apikey": {"nope"}}); st != 401 {
		t.Fatalf("wrong apikey: %d", st)
	}
	// Unauthorised requests are recorded but reach no endpoint logic.
	if h.emu.Calls("accountbalance") != 5 {
		t.Fatalf("calls %d", h.emu.Calls("accountbalance"))
	}

	open := newHarness(t, Config{})
	open.ok("GET", "ordering/accountbalance", nil, nil)
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.fail("GET", "inventory/nothing", nil, 404, "15")
	h.fail("GET", "", nil, 404, "15")
	env := h.fail("GET", "ordering/cancel", nil, 405, "23")
	if env.APIModule != "ORDERING" || env.HTTPStatusCode != 405 {
		t.Fatalf("envelope %+v", env)
	}
	h.fail("POST", "ordering/cart/1/checkout", nil, 405, "23")
	h.fail("PUT", "inventory/didgroup", nil, 405, "23")

	// Outside the base path.
	resp, err := h.srv.Client().Get(h.srv.URL + testPrefix + "/ordering/accountbalance")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("outside base: %d", resp.StatusCode)
	}
	recs := h.emu.Requests()
	if len(recs) != 6 || recs[0].Endpoint != "" || recs[0].Status != 404 || recs[2].Path != BasePath+"ordering/cancel" {
		t.Fatalf("records %+v", recs)
	}
}

func TestRequestsRecord(t *testing.T) {
	t.Parallel()
	clk := newClock()
	h := newHarness(t, Config{Now: clk.Now})
	h.ok("PUT", "ordering/cart", map[string]string{"customerReference": "r"}, nil)
	h.ok("GET", "inventory/didgroup?countryCodeA3=USA&pageNumber=0&pageSize=1", nil, nil)
	recs := h.emu.Requests()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Method != "PUT" || r.Endpoint != "cart.create" || r.Status != 200 || r.RemoteIP != "127.0.0.1" ||
		string(r.Body) != `{"customerReference":"r"}` || !r.Time.Equal(clk.Now()) {
		t.Fatalf("record %+v", r)
	}
	if recs[1].RawQuery != "countryCodeA3=USA&pageNumber=0&pageSize=1" || h.emu.Calls("didgroup.list") != 1 {
		t.Fatalf("record %+v", recs[1])
	}
	h.emu.ResetRequests()
	if len(h.emu.Requests()) != 0 || h.emu.Calls("cart.create") != 0 {
		t.Fatal("ResetRequests kept records")
	}
}

// TestRateLimit checks the sliding window with the injected clock.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 509} {
		clk := newClock()
		h := newHarness(t, Config{RateLimit: 3, RateLimitStatus: status, Now: clk.Now})
		get := func() int {
			st, _ := h.do("GET", "ordering/accountbalance", nil)
			return st
		}
		want := func(step string, st int) {
			t.Helper()
			if got := get(); got != st {
				t.Fatalf("%d: %s: status %d, want %d", status, step, got, st)
			}
		}
		want("t0 #1", 200)
		clk.Advance(400 * time.Millisecond)
		want("t0.4 #2", 200)
		want("t0.4 #3", 200)
		want("t0.4 #4", status)
		clk.Advance(599 * time.Millisecond)
		want("t0.999 still within the window of t0", status)
		clk.Advance(time.Millisecond)
		// t0 has left the window (t-1s, t]; refused requests did not count.
		want("t1.0", 200)
		want("t1.0 again", status)
		clk.Advance(400 * time.Millisecond)
		want("t1.4 frees two", 200)
		want("t1.4", 200)
		want("t1.4 over", status)
		env := decodeEnvelope(t, func() []byte { _, d := h.do("GET", "ordering/accountbalance", nil); return d }())
		if env.HTTPStatusCode != status {
			t.Fatalf("envelope %+v", env)
		}
		if n := h.emu.Calls("accountbalance"); n != 11 {
			t.Fatalf("%d calls recorded", n)
		}
	}
}

// TestRateLimitPerIP uses ServeHTTP directly to vary the client address.
func TestRateLimitPerIP(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := New(Config{RateLimit: 1, Now: clk.Now})
	serve := func(addr string) int {
		r := httptest.NewRequest("GET", BasePath+"ordering/accountbalance", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w.Code
	}
	if serve("10.0.0.1:1000") != 200 || serve("10.0.0.1:1001") != 429 || serve("10.0.0.2:1000") != 200 {
		t.Fatal("the limit is not per IP")
	}
}

// TestRateLimitRealClock: a client pacing itself at the limit is never refused.
func TestRateLimitRealClock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{RateLimit: 5})
	start := time.Now()
	for i := range 10 {
		// A burst of 5, then the next burst 1 s later (plus a margin for the scheduling
		// and network jitter between send and arrival): never 5+1 in any second.
		time.Sleep(time.Until(start.Add(time.Duration(i/5) * (time.Second + 50*time.Millisecond))))
		if st, _ := h.do("GET", "inventory/feature", nil); st != 200 {
			t.Fatalf("request %d refused at %v", i, time.Since(start))
		}
	}
	if st, _ := h.do("GET", "inventory/feature", nil); st != 429 {
		t.Fatalf("burst beyond the limit: %d", st)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Latency: 50 * time.Millisecond})
	start := time.Now()
	h.ok("GET", "inventory/feature", nil, nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("answered in %v", d)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	e := New(Config{Username: "u", Password: "p"})
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, e) }()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+BasePath+"ordering/accountbalance", nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("Serve did not stop")
	}

	ctx2, cancel2 := context.WithCancel(t.Context())
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	if err := ListenAndServe(ctx2, "127.0.0.1:0", Config{}); err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	if err := ListenAndServe(t.Context(), "127.0.0.1:-1", Config{}); err == nil {
		t.Fatal("bad address accepted")
	}
}

// TestServeShutdownInFlight: shutdown interrupts a slow request without a fake success.
func TestServeShutdownInFlight(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Config{Latency: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, e) }()
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + BasePath + "inventory/feature")
		if err == nil {
			resp.Body.Close()
			err = errors.New(resp.Status)
		} else {
			err = nil
		}
		got <- err
	}()
	for len(e.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("in-flight request answered %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}
