package knmvoxbone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

func TestDIDTypeAndCountry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dial, prefix, want string }{
		{"+1", "800", TypeTollFree}, {"+1", "822", TypeTollFree}, {"+1", "880", TypeTollFree},
		{"+1", "889", TypeTollFree}, {"+1", "80*", TypeTollFree}, {"+1", "84*", TypeTollFree},
		{"+1", "88*", TypeTollFree}, {"+1", "81*", TypeGeographic}, {"+1", "256", TypeGeographic},
		{"+1", "8001", TypeGeographic}, {"+44", "800", TypeTollFree}, {"+44", "888", TypeGeographic},
		{"+32", "2", TypeGeographic},
	} {
		if got := DIDType(tc.dial, tc.prefix); got != tc.want {
			t.Errorf("DIDType(%s, %s) = %s, want %s", tc.dial, tc.prefix, got, tc.want)
		}
	}
	for in, want := range map[string]string{"US": "USA", "be": "BEL", "GBR": "GBR"} {
		if got, err := CountryA3(in); err != nil || got != want {
			t.Errorf("CountryA3(%s) = %s, %v", in, got, err)
		}
	}
	if _, err := CountryA3("XX"); !knm.IsErrorName(err, knm.ErrInvalid) {
		t.Errorf("CountryA3(XX) err = %v", err)
	}
}

// TestKazooAcceptance is Kazoo's acceptance case through the manager: search 256 x15 in US,
// activate one (no Voxbone call), release it (exactly its DID is cancelled).
func TestKazooAcceptance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := emulator.New(emulator.Config{Username: "u", Password: "p"})
	srv := httptest.NewServer(e)
	defer srv.Close()
	store := openSQLite(t)
	s := DefaultSettings()
	s.BaseURL, s.Username, s.Password = srv.URL+"/ws-voxbone/services/rest", "u", "p"
	c, err := New(s, Deps{Store: store, Logger: quiet}) // client built from the settings
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Options{
		Store:  store,
		Logger: quiet,
		Policy: func(context.Context) (manager.Policy, error) {
			p := manager.DefaultPolicy()
			p.CarrierModules = []string{ModuleName}
			return p, nil
		},
		Carriers: func(names []string) []knm.Carrier {
			for _, n := range names {
				if n == ModuleName {
					return []knm.Carrier{c}
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	master, sub := strings.Repeat("a", 32), strings.Repeat("c", 32)
	for _, a := range []*knm.Account{
		{ID: master, Name: "master", SuperduperAdmin: true, Enabled: true},
		{ID: sub, Name: "sub", ParentID: master, Tree: []string{master}, Enabled: true},
	} {
		if err := store.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	res, err := m.Search(ctx, manager.SearchRequest{Country: "US", Prefix: "256", Quantity: 15, AccountID: master})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Numbers) != 15 {
		t.Fatalf("search returned %d numbers (%+v), want 15", len(res.Numbers), res.Carriers)
	}
	for _, ns := range res.Numbers {
		if !strings.HasPrefix(ns.Number, "+1256") || ns.State != knm.StateAvailable {
			t.Errorf("result %+v", ns)
		}
		n, err := store.GetNumber(ctx, ns.Number)
		if err != nil {
			t.Fatal(err)
		}
		var did voxbone.DID
		if err := json.Unmarshal(n.CarrierData, &did); err != nil || did.E164 != ns.Number || did.DIDID == 0 {
			t.Errorf("carrier data of %s = %s (%v)", ns.Number, n.CarrierData, err)
		}
		if n.State != knm.StateAvailable || n.AssignedTo != "" || n.ModuleName != ModuleName {
			t.Errorf("stored %s: %s %q %s", n.Number, n.State, n.AssignedTo, n.ModuleName)
		}
	}
	checkInvariants(t, e, store, 1)

	num := res.Numbers[0].Number
	before := len(e.Requests())
	if _, err := m.Activate(ctx, master, num, sub); err != nil {
		t.Fatal(err)
	}
	if after := len(e.Requests()); after != before {
		t.Errorf("activation made %d Voxbone requests, want 0", after-before)
	}
	n, _ := store.GetNumber(ctx, num)
	var did voxbone.DID
	_ = json.Unmarshal(n.CarrierData, &did)

	e.ResetRequests()
	if _, err := m.Release(ctx, master, num); err != nil {
		t.Fatal(err)
	}
	if got := e.Calls("cancel"); got != 1 {
		t.Fatalf("cancel calls = %d, want 1", got)
	}
	for _, r := range e.Requests() {
		if r.Endpoint == "cancel" && string(r.Body) != fmt.Sprintf(`{"didIds":[%d]}`, did.DIDID) {
			t.Errorf("cancel body %s, want didId %d", r.Body, did.DIDID)
		}
	}
	for _, d := range e.DIDs() {
		if d.E164 == num {
			t.Errorf("%s still in the emulator inventory", num)
		}
	}
	if len(e.DIDs()) != 14 {
		t.Errorf("emulator has %d DIDs, want 14", len(e.DIDs()))
	}
}

// TestRoundTrips checks the 15-number buy over three groups takes four sequential round
// trips (balance+groups+cart, adds, checkout, DIDs+cart deletion), counted from the
// requests' arrival times at an emulator answering in 200 ms.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{Latency: 200 * time.Millisecond})
	f.c.settings.RequestTimeout = 2 * time.Second
	c := newTestCarrier(t, f.c.settings, Deps{Store: f.store})
	rows, err := search256(context.Background(), c, 15)
	if err != nil || len(rows) != 15 {
		t.Fatalf("rows %d, err %v", len(rows), err)
	}
	n, start := 0, time.Time{}
	for _, r := range f.e.Requests() {
		if n == 0 || r.Time.Sub(start) > 100*time.Millisecond {
			n, start = n+1, r.Time
		}
	}
	if n > 4 {
		t.Errorf("%d sequential round trips, want 4", n)
	}
	if n := len(f.e.Requests()); n != 9 {
		t.Errorf("%d requests, want 9 (balance, didgroup, cart, 3 adds, checkout, did, delete)", n)
	}
	checkInvariants(t, f.e, f.store, 1)
}

func TestPoolFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	if rows, err := search256(ctx, f.c, 15); err != nil || len(rows) != 15 {
		t.Fatalf("first search: %d rows, %v", len(rows), err)
	}
	f.e.ResetRequests()
	rows, err := search256(ctx, f.c, 10)
	if err != nil || len(rows) != 10 {
		t.Fatalf("pool search: %d rows, %v", len(rows), err)
	}
	if n := len(f.e.Requests()); n != 0 {
		t.Errorf("pool hit made %d Voxbone requests", n)
	}
	// Pool of 15, 20 wanted: buys only the 5 missing (stock is exhausted in the three
	// groups, so give one more group stock).
	if err := f.e.SetStock(5119, 10); err != nil {
		t.Fatal(err)
	}
	rows, err = search256(ctx, f.c, 20)
	if err != nil || len(rows) != 20 {
		t.Fatalf("shortfall search: %d rows, %v", len(rows), err)
	}
	if n := len(f.e.DIDs()); n != 20 {
		t.Errorf("emulator has %d DIDs, want 20 (only the shortfall bought)", n)
	}
	checkInvariants(t, f.e, f.store, 2)
}

func TestSearchModePool(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{})
	f.c.settings.SearchMode = SearchModePool
	rows, err := search256(context.Background(), f.c, 5)
	if err != nil || len(rows) != 0 {
		t.Fatalf("rows %d, err %v", len(rows), err)
	}
	if n := len(f.e.Requests()); n != 0 {
		t.Errorf("pool mode made %d requests", n)
	}
}

// TestNoPurchase: an anonymous search (opts.NoPurchase) is served from the pool only, even
// in order mode, so nobody can spend the account's money without credentials.
func TestNoPurchase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, emulator.Config{})
	if rows, err := search256(ctx, f.c, 2); err != nil || len(rows) != 2 {
		t.Fatalf("buying search: %d rows, %v", len(rows), err)
	}
	f.e.ResetRequests()
	rows, err := f.c.FindNumbers(ctx, knm.SearchOptions{Country: "US",
		Prefix: knm.SearchPrefix{Dialcode: "+1", National: "256"}, Quantity: 5, NoPurchase: true})
	if err != nil || len(rows) != 2 {
		t.Fatalf("anonymous search: %d rows (want the 2 in the pool), %v", len(rows), err)
	}
	if n := len(f.e.Requests()); n != 0 {
		t.Errorf("anonymous search made %d Voxbone requests", n)
	}
}

func TestShortfall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("stock", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		_ = f.e.SetStock(12518, 0)
		_ = f.e.SetStock(5117, 4)
		rows, err := search256(ctx, f.c, 15)
		if len(rows) != 9 || !knm.IsErrorName(err, knm.ErrUnavailable) ||
			!strings.Contains(err.Error(), "insufficient inventory: wanted 15, 9 in stock") {
			t.Fatalf("rows %d, err %v", len(rows), err)
		}
		checkInvariants(t, f.e, f.store, 1)
	})
	t.Run("balance", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		g, _ := f.e.DIDGroup(5116)
		unit := float64(g.Setup100+g.Monthly100) / 100
		f.e.SetBalance(unit*7 + unit/2)
		rows, err := search256(ctx, f.c, 15)
		if len(rows) != 7 || !knm.IsErrorName(err, knm.ErrNotEnoughCredit) {
			t.Fatalf("rows %d, err %v", len(rows), err)
		}
		checkInvariants(t, f.e, f.store, 1)
	})
	t.Run("max_order_cost", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		g, _ := f.e.DIDGroup(5116)
		f.c.settings.MaxOrderCost = float64(g.Setup100+g.Monthly100) / 100 * 3
		rows, err := search256(ctx, f.c, 15)
		if len(rows) != 3 || !knm.IsErrorName(err, knm.ErrNotEnoughCredit) ||
			!strings.Contains(err.Error(), "max_order_cost") {
			t.Fatalf("rows %d, err %v", len(rows), err)
		}
	})
	t.Run("max_order_quantity", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		f.c.settings.MaxOrderQuantity = 4
		rows, err := search256(ctx, f.c, 15)
		if len(rows) != 4 || !knm.IsErrorName(err, knm.ErrServiceRestriction) {
			t.Fatalf("rows %d, err %v", len(rows), err)
		}
	})
	t.Run("empty balance", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Config{})
		f.e.SetBalance(0)
		rows, err := search256(ctx, f.c, 15)
		if len(rows) != 0 || !knm.IsErrorName(err, knm.ErrNotEnoughCredit) {
			t.Fatalf("rows %d, err %v", len(rows), err)
		}
		if len(f.e.Orders()) != 0 {
			t.Errorf("bought with no money")
		}
		checkInvariants(t, f.e, f.store, 0)
	})
}
