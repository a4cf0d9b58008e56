package voxbone_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// startEmulator serves an emulator under "/base" on 127.0.0.1 and returns it with the
// base URL a client should use.
func startEmulator(t *testing.T, cfg emulator.Config) (*emulator.Emulator, string) {
	t.Helper()
	if cfg.Username == "" {
		cfg.Username, cfg.Password = testUser, testPassword
	}
	e := emulator.New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/base/", http.StripPrefix("/base", e))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return e, srv.URL + "/base" + strings.TrimSuffix(emulator.BasePath, "/")
}

func emulatorClient(t *testing.T, base string, opts ...voxbone.Option) *voxbone.Client {
	t.Helper()
	c, err := voxbone.New(append([]voxbone.Option{voxbone.WithBaseURL(base), voxbone.WithBasicAuth(testUser, testPassword),
		voxbone.WithRetryPolicy(fastRetries)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmulatorEveryMethod(t *testing.T) {
	t.Parallel()
	e, base := startEmulator(t, emulator.Config{Seed: 1})
	c := emulatorClient(t, base)
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	countries, total, err := c.ListCountries(ctx, voxbone.ListCountriesOptions{})
	must("ListCountries", err)
	if len(countries) == 0 || total < len(countries) {
		t.Errorf("countries %d of %d", len(countries), total)
	}
	usa, err := c.GetCountry(ctx, "USA")
	must("GetCountry", err)
	if usa.PhoneCode != 1 || !usa.HasStates {
		t.Errorf("USA = %+v", usa)
	}
	states, err := c.ListStates(ctx, "USA")
	must("ListStates", err)
	if len(states) == 0 {
		t.Error("no states")
	}
	_, err = c.ListRestrictions(ctx, "DEU")
	must("ListRestrictions", err)
	for name, f := range map[string]func() (int, error){
		"features":       func() (int, error) { v, err := c.ListFeatures(ctx); return len(v), err },
		"creditpackages": func() (int, error) { v, err := c.ListCreditPackages(ctx); return len(v), err },
		"trunks":         func() (int, error) { v, err := c.ListTrunks(ctx); return len(v), err },
		"zones":          func() (int, error) { v, err := c.ListZones(ctx); return len(v), err },
	} {
		if n, err := f(); err != nil || n == 0 {
			t.Errorf("%s: %d, %v", name, n, err)
		}
	}
	groups, err := c.ListAllDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA", AreaCode: "205",
		ListOptions: voxbone.ListOptions{PageSize: 5}})
	must("ListAllDIDGroups", err)
	if len(groups) != 23 {
		t.Errorf("%d groups in 205, want 23", len(groups))
	}
	balance, err := c.AccountBalance(ctx)
	must("AccountBalance", err)
	if balance.Balance != 500 || balance.Currency != "USD" {
		t.Errorf("balance = %+v", balance)
	}

	cart, err := c.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "knm-order-1", Description: "DID Order"})
	must("CreateCart", err)
	must("AddDIDsToCart", c.AddDIDsToCart(ctx, cart.CartIdentifier, 1196, 3))
	must("AddToCart capacity", c.AddToCart(ctx, cart.CartIdentifier, voxbone.CartItem{Capacity: &voxbone.CapacityCartItem{Zone: "WORLD", Quantity: 10}}))
	must("AddToCart credit", c.AddToCart(ctx, cart.CartIdentifier, voxbone.CartItem{CreditPackage: &voxbone.CreditPackageCartItem{CreditPackageID: 1, Quantity: 1}}))
	got, err := c.GetCart(ctx, cart.CartIdentifier)
	must("GetCart", err)
	if len(got.OrderProducts) != 3 {
		t.Fatalf("cart lines = %+v", got.OrderProducts)
	}
	for _, op := range got.OrderProducts {
		if op.ProductType != "DID" {
			must("RemoveFromCart", c.RemoveFromCart(ctx, cart.CartIdentifier, op.OrderProductID, op.Quantity))
		}
	}
	carts, err := c.ListAllCarts(ctx, voxbone.ListCartsOptions{Reference: "knm-order-1"})
	must("ListAllCarts", err)
	if len(carts) != 1 || len(carts[0].OrderProducts) != 1 || *carts[0].OrderProducts[0].DIDGroupID != 1196 {
		t.Fatalf("carts = %+v", carts)
	}
	_, err = c.GetCart(ctx, 1)
	if !voxbone.IsNotFound(err) && !voxbone.HasCode(err, voxbone.CodeInvalidCartIdentifier) {
		t.Errorf("GetCart(1) = %v", err)
	}
	must("DeleteCart", c.DeleteCart(ctx, cart.CartIdentifier))
	if err := c.DeleteCart(ctx, cart.CartIdentifier); !voxbone.HasCode(err, voxbone.CodeInvalidCartIdentifier) {
		t.Errorf("second DeleteCart = %v, want code 400", err)
	}

	uri, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "sip:knm@example.com", Description: "knm"})
	must("SaveVoiceURI", err)
	uris, n, err := c.ListVoiceURIs(ctx, voxbone.ListVoiceURIsOptions{})
	must("ListVoiceURIs", err)
	if n != 1 || len(uris) != 1 || *uris[0].VoiceURIID != *uri.VoiceURIID {
		t.Errorf("voice URIs = %+v (%d)", uris, n)
	}
	if len(e.Carts()) != 0 {
		t.Errorf("emulator still has carts: %+v", e.Carts())
	}
}

// TestEmulatorPurchaseFlow runs Kazoo's flow: balance, groups, cart, one add per group,
// checkout, DIDs by order reference, configuration, release.
func TestEmulatorPurchaseFlow(t *testing.T) {
	t.Parallel()
	e, base := startEmulator(t, emulator.Config{Seed: 2})
	c := emulatorClient(t, base, voxbone.WithPageSize(4))
	ctx := t.Context()

	bal, err := c.AccountBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.ListAllDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA", AreaCode: "256", DIDType: "GEOGRAPHIC", ShowEmpty: voxbone.Ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	const want = 15
	plan, cost, left := map[int]int{}, 0.0, want
	for _, g := range groups {
		if left == 0 {
			break
		}
		q := min(left, g.Stock)
		if q > 0 && g.Available {
			plan[g.DIDGroupID] = q
			cost += float64(q*(g.Setup100+g.Monthly100)) / 100
			left -= q
		}
	}
	if left != 0 || cost > bal.Balance {
		t.Fatalf("cannot plan: left %d, cost %v, balance %v", left, cost, bal.Balance)
	}
	cart, err := c.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "knm-flow", Description: "DID Order"})
	if err != nil {
		t.Fatal(err)
	}
	for id, q := range plan {
		if err := c.AddDIDsToCart(ctx, cart.CartIdentifier, id, q); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Checkout(ctx, cart.CartIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCESS" || len(res.ProductCheckoutList) != 1 || res.ProductCheckoutList[0].ProductType != "DID" {
		t.Fatalf("checkout = %+v", res)
	}
	ref := res.ProductCheckoutList[0].OrderReference
	dids, err := c.ListAllDIDs(ctx, voxbone.ListDIDsOptions{OrderReference: ref})
	if err != nil {
		t.Fatal(err)
	}
	if len(dids) != want {
		t.Fatalf("%d DIDs for %s, want %d (all pages)", len(dids), ref, want)
	}
	for _, d := range dids {
		if !strings.HasPrefix(d.E164, "+1256") || len(d.Raw) == 0 || *d.OrderReference != ref {
			t.Errorf("DID %+v", d)
		}
	}
	orders, err := c.ListAllOrders(ctx, voxbone.ListOrdersOptions{Reference: ref})
	if err != nil || len(orders) != 1 || orders[0].CustomerReference != "knm-flow" {
		t.Fatalf("orders = %+v, %v", orders, err)
	}
	if len(e.Orders()) != 1 || len(e.DIDs()) != want {
		t.Errorf("emulator has %d orders, %d DIDs", len(e.Orders()), len(e.DIDs()))
	}

	msgs, err := c.ConfigureDIDs(ctx, voxbone.DIDConfiguration{DIDIDs: []int{dids[0].DIDID, dids[1].DIDID}, DNISEnabled: voxbone.Ptr(true)})
	if err != nil || len(msgs) == 0 {
		t.Fatalf("ConfigureDIDs = %+v, %v", msgs, err)
	}

	// Release the first number as knm does: exact lookup, exactly one match, cancel.
	found, total, err := c.ListDIDs(ctx, voxbone.ListDIDsOptions{E164Pattern: dids[0].E164})
	if err != nil || total != 1 || found[0].DIDID != dids[0].DIDID {
		t.Fatalf("lookup %s = %+v (%d), %v", dids[0].E164, found, total, err)
	}
	if !bool(found[0].DNISEnabled) {
		t.Errorf("configuration not applied: %s", found[0].Raw)
	}
	n, err := c.CancelDIDs(ctx, []int{found[0].DIDID})
	if err != nil || n != 1 {
		t.Fatalf("CancelDIDs = %d, %v", n, err)
	}
	if _, err := c.CancelDIDs(ctx, []int{found[0].DIDID}); !voxbone.HasCode(err, voxbone.CodeInvalidDIDID) {
		t.Errorf("second cancel = %v, want code 414", err)
	}
}

// TestEmulatorFaults checks retry behaviour against the emulator's fault injection: a lost
// checkout answer is not repeated (the order exists once), a dropped list is retried.
func TestEmulatorFaults(t *testing.T) {
	t.Parallel()
	e, base := startEmulator(t, emulator.Config{Seed: 3})
	c := emulatorClient(t, base)
	ctx := t.Context()
	cart, err := c.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "faults"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddDIDsToCart(ctx, cart.CartIdentifier, 1404, 2); err != nil {
		t.Fatal(err)
	}
	e.AddFault(emulator.Fault{Endpoint: "cart.checkout", Nth: 1, Drop: true, AfterEffect: true})
	if _, err := c.Checkout(ctx, cart.CartIdentifier); err == nil {
		t.Fatal("checkout with a dropped answer succeeded")
	}
	if n := e.Calls("cart.checkout"); n != 1 || len(e.Orders()) != 1 {
		t.Fatalf("checkout sent %d times, %d orders; want exactly 1 and 1", n, len(e.Orders()))
	}
	// The order is found by the cart's customerReference instead of buying again.
	orders, err := c.ListAllOrders(ctx, voxbone.ListOrdersOptions{CustomerReference: "faults"})
	if err != nil || len(orders) != 1 {
		t.Errorf("orders by customer reference = %+v, %v", orders, err)
	}

	e.AddFault(emulator.Fault{Endpoint: "didgroup.list", Nth: 1, Times: 2, Status: 503})
	e.AddFault(emulator.Fault{Endpoint: "cart.add", Nth: 1, Status: 500})
	if _, _, err := c.ListDIDGroups(ctx, voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA"}); err != nil {
		t.Errorf("ListDIDGroups after two 503s: %v", err)
	}
	if n := e.Calls("didgroup.list"); n != 3 {
		t.Errorf("didgroup.list called %d times, want 3", n)
	}
	if err := c.AddDIDsToCart(ctx, cart.CartIdentifier, 1404, 1); err == nil || e.Calls("cart.add") != 2 {
		t.Errorf("add under 500: %v, calls %d (1 before + 1)", err, e.Calls("cart.add"))
	}
}

// checkArrivals fails t if the emulator saw more than rps requests in any one-second
// window (by arrival time) or refused any request.
func checkArrivals(t *testing.T, e *emulator.Emulator, rps, wantN int) {
	t.Helper()
	var times []time.Time
	for _, r := range e.Requests() {
		if r.Status == http.StatusTooManyRequests || r.Status == 509 {
			t.Errorf("request %s %s was refused with %d", r.Method, r.Path, r.Status)
		}
		times = append(times, r.Time)
	}
	if len(times) != wantN {
		t.Errorf("emulator saw %d requests, want %d", len(times), wantN)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 0; i+rps < len(times); i++ {
		if d := times[i+rps].Sub(times[i]); d < time.Second {
			t.Fatalf("%d arrivals within %v (from #%d)", rps+1, d, i)
		}
	}
}

func TestEmulatorRateLimitOneClient(t *testing.T) {
	t.Parallel()
	const rps, n, g = 20, 200, 50
	e, base := startEmulator(t, emulator.Config{RateLimit: rps, Seed: 4})
	// No Spacing: the whole budget goes out in bursts, and the limiter is charged when
	// each request gets its connection rather than when it is granted.
	c := emulatorClient(t, base, voxbone.WithLimiter(testLocalLimiter(rps)), voxbone.WithRetryPolicy(voxbone.RetryPolicy{}))
	callConcurrently(t, c, n, g)
	checkArrivals(t, e, rps, n)
}

// callConcurrently makes n calls from g goroutines through c, alternating two endpoints.
func callConcurrently(t *testing.T, c *voxbone.Client, n, g int) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	for range g {
		wg.Go(func() {
			for i := range work {
				var err error
				if i%2 == 0 {
					_, err = c.AccountBalance(t.Context())
				} else {
					_, _, err = c.ListDIDGroups(t.Context(), voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA", AreaCode: "205"})
				}
				if err != nil {
					t.Errorf("request %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
}

// slowHandshakeListener delays the first read of every accepted connection, which, under
// TLS, holds up the handshake: a new connection becomes usable only after the delay, as a
// TLS handshake to Voxbone takes 100-300 ms, while a pooled one is usable at once. (Delaying
// Accept itself would not do: the kernel completes the TCP handshake before Accept, so a
// plain-HTTP client would write its request at once and only the server would lag.)
type slowHandshakeListener struct {
	net.Listener
	delay time.Duration
}

func (l slowHandshakeListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowFirstReadConn{Conn: conn, delay: l.delay}, nil
}

type slowFirstReadConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *slowFirstReadConn) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(p)
}

// TestEmulatorRateLimitColdStart sends a burst through a client whose every connection is
// new and takes 150 ms to become usable: the first rps requests are granted at once but
// sent 150 ms later, while later requests ride warm connections. Charging the limiter at
// grant time would let rps+1 requests arrive within one second.
func TestEmulatorRateLimitColdStart(t *testing.T) {
	t.Parallel()
	const rps, n, g = 20, 60, 30
	e := emulator.New(emulator.Config{Username: testUser, Password: testPassword, RateLimit: rps, Seed: 6})
	mux := http.NewServeMux()
	mux.Handle("/base/", http.StripPrefix("/base", e))
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = slowHandshakeListener{Listener: srv.Listener, delay: 150 * time.Millisecond}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// A fresh transport trusting the test certificate, pooling like voxbone.New's.
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	t.Cleanup(tr.CloseIdleConnections)
	c := emulatorClient(t, srv.URL+"/base"+strings.TrimSuffix(emulator.BasePath, "/"),
		voxbone.WithHTTPClient(&http.Client{Transport: tr}),
		voxbone.WithLimiter(testLocalLimiter(rps)), voxbone.WithRetryPolicy(voxbone.RetryPolicy{}))
	callConcurrently(t, c, n, g)
	checkArrivals(t, e, rps, n)
}

// TestEmulatorRateLimitTwoProcesses runs two OS processes (this test binary re-executed as
// TestEmulatorHelperProcess), each with its own client, sharing one budget through Redis.
func TestEmulatorRateLimitTwoProcesses(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr(t)
	const rps, perProc = 20, 60
	e, base := startEmulator(t, emulator.Config{RateLimit: rps, Seed: 5})
	key := fmt.Sprintf("knm:test:voxbone:%d", time.Now().UnixNano())
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestEmulatorHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KNM_VOXBONE_HELPER=1", "KNM_VOXBONE_BASE="+base, "KNM_VOXBONE_REDIS="+addr,
			"KNM_VOXBONE_KEY="+key, "KNM_VOXBONE_RPS="+strconv.Itoa(rps), "KNM_VOXBONE_N="+strconv.Itoa(perProc))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	checkArrivals(t, e, rps, 2*perProc)
}

// TestEmulatorHelperProcess is not a test: it is the body of the processes that
// TestEmulatorRateLimitTwoProcesses starts.
func TestEmulatorHelperProcess(t *testing.T) {
	if os.Getenv("KNM_VOXBONE_HELPER") != "1" {
		t.Skip("helper process for TestEmulatorRateLimitTwoProcesses")
	}
	rps, _ := strconv.Atoi(os.Getenv("KNM_VOXBONE_RPS"))
	n, _ := strconv.Atoi(os.Getenv("KNM_VOXBONE_N"))
	rc := redis.NewClient(&redis.Options{Addr: os.Getenv("KNM_VOXBONE_REDIS")})
	defer rc.Close()
	lim := ratelimit.NewRedis(rc, os.Getenv("KNM_VOXBONE_KEY"), rps)
	lim.Margin = testMargin
	c := emulatorClient(t, os.Getenv("KNM_VOXBONE_BASE"), voxbone.WithLimiter(lim), voxbone.WithRetryPolicy(voxbone.RetryPolicy{}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			for i := w; i < n; i += 10 {
				if _, err := c.ListZones(ctx); err != nil {
					t.Errorf("request %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
}

// testMargin widens the limiters' window in these tests. What they check is that sends are
// counted when they really happen; the default 50 ms margin covers network jitter, but on
// a 2-CPU CI machine running every package under -race the loopback emulator itself can
// record an arrival tens of milliseconds late, which would make the tests flaky without
// saying anything about the limiter.
const testMargin = 150 * time.Millisecond

func testLocalLimiter(rps int) *ratelimit.Local {
	l := ratelimit.NewLocal(rps)
	l.Margin = testMargin
	return l
}
