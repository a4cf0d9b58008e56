package knmvoxbone

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestQuoteHasNoSideEffects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, emulator.Config{})
	qs, err := f.c.Quote(context.Background(), QuoteRequest{Country: "US", AreaCode: "256"})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 || qs[0].Stock != 5 || qs[0].Currency != "USD" || qs[0].AreaCode != "256" || qs[0].Monthly <= 0 {
		t.Fatalf("quotes %+v", qs)
	}
	for _, r := range f.e.Requests() {
		if r.Method != "GET" {
			t.Errorf("quote sent %s %s", r.Method, r.Path)
		}
	}
	if len(f.e.Carts()) != 0 || len(f.e.Orders()) != 0 {
		t.Error("quote created carts or orders")
	}
}

func TestNativeOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	acct := strings.Repeat("b", 32)
	if err := f.store.CreateAccount(ctx, &knm.Account{ID: acct, Name: "b", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	var spent atomic.Int64
	f.c.metrics.Spent = func(cents int) { spent.Add(int64(cents)) }
	balance := f.e.Balance()
	req := OrderRequest{GroupID: 5116, Quantity: 3, Country: "US", IdempotencyKey: "k1", AssignTo: acct}
	first, err := f.c.Order(ctx, req)
	if err != nil || first.State != StateImported || len(first.Numbers) != 3 || first.Replayed {
		t.Fatalf("first order %+v, %v", first, err)
	}
	for _, num := range first.Numbers {
		n, err := f.store.GetNumber(ctx, num)
		if err != nil || n.State != knm.StateInService || n.AssignedTo != acct {
			t.Errorf("%s stored %+v, %v", num, n, err)
		}
	}
	again, err := f.c.Order(ctx, req)
	if err != nil || !again.Replayed || again.OrderID != first.OrderID || !slices.Equal(again.Numbers, first.Numbers) {
		t.Fatalf("repeat %+v, %v", again, err)
	}
	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("%d orders for one idempotency key", n)
	}
	// The money metric matches what Voxbone debited, and a repeat adds nothing.
	if debited := int64(math.Round((balance - f.e.Balance()) * 100)); debited == 0 || spent.Load() != debited {
		t.Errorf("spent metric %d cents, Voxbone debited %d cents", spent.Load(), debited)
	}
	got, err := f.c.GetOrder(ctx, first.OrderID)
	if err != nil || got.State != StateImported {
		t.Errorf("GetOrder %+v, %v", got, err)
	}
	if all, err := f.c.ListOrders(ctx); err != nil || len(all) != 1 {
		t.Errorf("ListOrders %d, %v", len(all), err)
	}

	// Refused before buying: too many, no stock, too expensive, unknown account.
	for name, r := range map[string]OrderRequest{
		"quantity": {GroupID: 5116, Quantity: 21},
		"stock":    {GroupID: 5117, Quantity: 6},
		"account":  {GroupID: 5117, Quantity: 1, AssignTo: strings.Repeat("9", 32)},
	} {
		if _, err := f.c.Order(ctx, r); err == nil {
			t.Errorf("%s: order accepted", name)
		}
	}
	if _, err := f.c.Order(ctx, OrderRequest{GroupID: 424242, Quantity: 1}); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("unknown group: %v, want not_found", err)
	}
	f.c.settings.MaxOrderCost = 0.01
	if _, err := f.c.Order(ctx, OrderRequest{GroupID: 5117, Quantity: 1}); !knm.IsErrorName(err, knm.ErrNotEnoughCredit) {
		t.Errorf("cost: %v", err)
	}
	if n := len(f.e.Orders()); n != 1 {
		t.Errorf("refused orders bought something: %d orders", n)
	}
	checkInvariants(t, f.e, f.store, 1)
}

func TestReconcileAndCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	rows, err := search256(ctx, f.c, 5)
	if err != nil || len(rows) != 5 {
		t.Fatal(rows, err)
	}
	// A DID bought outside knm, and a knm number cancelled outside knm.
	vx := f.c.client
	cart, _ := vx.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "portal"})
	_ = vx.AddDIDsToCart(ctx, cart.CartIdentifier, 5117, 1)
	if _, err := vx.Checkout(ctx, cart.CartIdentifier); err != nil {
		t.Fatal(err)
	}
	gone, _ := f.store.GetNumber(ctx, rows[0].Number)
	if err := f.c.DisconnectNumber(ctx, gone); err != nil {
		t.Fatal(err)
	}
	rep, err := f.c.Reconcile(ctx, false)
	if err != nil || len(rep.UnknownToKnm) != 1 || !slices.Equal(rep.MissingAtVoxbone, []string{gone.Number}) || rep.Imported != 0 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	st, err := f.c.CheckNumbers(ctx, []string{gone.Number, rows[1].Number})
	if err != nil || st[gone.Number] != CheckMissing || st[rows[1].Number] != CheckActive {
		t.Errorf("check %v, %v", st, err)
	}
	rep, err = f.c.Reconcile(ctx, true)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import %+v, %v", rep, err)
	}
	n, err := f.store.GetNumber(ctx, rep.UnknownToKnm[0].E164)
	if err != nil || n.State != knm.StateAvailable || n.ModuleName != ModuleName || len(n.CarrierData) == 0 {
		t.Errorf("imported %+v, %v", n, err)
	}
}

func TestPurgeCarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, emulator.Config{})
	vx := f.c.client
	mk := func(ref string) int {
		c, err := vx.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: ref})
		if err != nil {
			t.Fatal(err)
		}
		return c.CartIdentifier
	}
	orphan := mk(OrderPrefix + "orphan")   // no journal row
	planned := mk(OrderPrefix + "planned") // journal before checkout
	sent := mk(OrderPrefix + "sent")       // checkout may have happened: keep
	other := mk("someone-else")            // not knm's: keep
	for id, st := range map[string]OrderState{OrderPrefix + "planned": StateCartCreated, OrderPrefix + "sent": StateCheckoutSent} {
		if _, err := f.c.createOrder(ctx, orderPayload{OrderID: id}); err != nil {
			t.Fatal(err)
		}
		e, _ := f.store.GetJournal(ctx, id)
		o, _ := decodeOrder(e)
		if err := f.c.advance(ctx, o, st); err != nil {
			t.Fatal(err)
		}
	}
	// Young carts are kept.
	if ids, err := f.c.PurgeCarts(ctx, false); err != nil || len(ids) != 0 {
		t.Fatalf("young: %v, %v", ids, err)
	}
	f.c.now = func() time.Time { return time.Now().Add(time.Hour) }
	ids, err := f.c.PurgeCarts(ctx, true)
	slices.Sort(ids)
	want := []int{orphan, planned}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) || len(f.e.Carts()) != 4 {
		t.Fatalf("dry run %v (want %v), %v, %d carts", ids, want, err, len(f.e.Carts()))
	}
	if _, err := f.c.PurgeCarts(ctx, false); err != nil {
		t.Fatal(err)
	}
	var left []int
	for _, c := range f.e.Carts() {
		left = append(left, c.CartIdentifier)
	}
	slices.Sort(left)
	keep := []int{sent, other}
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("carts left %v, want %v", left, keep)
	}
}

// TestRateBudget runs 30 concurrent searches that all buy through one Carrier (one limiter
// at 20 rps) against an emulator enforcing 20 rps: no request is refused and every search
// gets its numbers. It does not run in parallel with the other tests: the limiter's 50 ms
// margin covers loopback scheduling jitter, not a CPU saturated by a hundred other tests.
func TestRateBudget(t *testing.T) {
	ctx := context.Background()
	e := emulator.New(emulator.Config{RateLimit: 20})
	f := newFixture(t, nil, emulator.Config{})
	f.srv.Config.Handler = e // same fixture plumbing, rate-limited emulator
	for _, id := range area256 {
		_ = e.SetStock(id, 10) // 90 in all, 60 wanted: plans must not collide on one group
	}
	s := f.s
	s.RateLimitRPS = 20
	s.RequestTimeout = 5 * time.Second
	lim := ratelimit.NewLocal(20)
	// The default 50 ms margin absorbs loopback jitter on an idle machine; the tree is
	// shared with other engineers' test runs, so leave room for a loaded CPU.
	lim.Margin = 150 * time.Millisecond
	c := newTestCarrier(t, s, f.store, lim)
	c.settleTimeout = 30 * time.Second
	var wg sync.WaitGroup
	got := make([]int, 30)
	errs := make([]error, 30)
	for i := range 30 {
		wg.Go(func() {
			rows, err := c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Prefix: "256", Dialcode: "+1",
				NormalizedPrefix: "+1256", Quantity: 2, QueryID: "q"})
			got[i], errs[i] = len(rows), err
		})
	}
	wg.Wait()
	for i := range 30 {
		if got[i] != 2 || errs[i] != nil {
			t.Errorf("search %d: %d rows, %v", i, got[i], errs[i])
		}
	}
	for _, r := range e.Requests() {
		if r.Status == 429 || r.Status == 509 {
			t.Errorf("request refused: %s %s -> %d", r.Method, r.Path, r.Status)
		}
	}
	t.Logf("%d requests, %d orders", len(e.Requests()), len(e.Orders()))
	checkInvariants(t, e, f.store, 30)
}
