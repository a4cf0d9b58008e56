package local_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/local"
	"github.com/knmproject/knm/store/sqlite"
)

var (
	accR = strings.Repeat("b", 32)
	accS = strings.Repeat("c", 32)
	accT = strings.Repeat("d", 32)
)

func openStore(t *testing.T) knm.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestInfo checks the kazoo-knm §1 table.
func TestInfo(t *testing.T) {
	var r carriers.Registry
	local.RegisterAll(&r, openStore(t))
	for _, tt := range []struct {
		module          string
		prefix          int
		isLocal, billed bool
	}{
		{"knm_local", 10, true, false},
		{"knm_inventory", 10, false, false},
		{"knm_managed", 15, true, true},
		{"knm_reserved", 10, true, false},
		{"knm_reserved_reseller", 10, true, false},
	} {
		c, ok := r.Lookup(tt.module, nil)
		if !ok {
			t.Fatalf("%s not registered", tt.module)
		}
		if c.Info().MaximalPrefixLength != tt.prefix || c.IsLocal() != tt.isLocal ||
			c.IsNumberBillable(nil) != tt.billed {
			t.Errorf("%s: prefix %d local %v billable %v", tt.module, c.Info().MaximalPrefixLength, c.IsLocal(),
				c.IsNumberBillable(nil))
		}
	}
}

func TestFindNumbers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	put := func(num string, st knm.State, mod, owner string, data string) {
		n := &knm.Number{Number: num, State: st, AssignedTo: owner}
		if data != "" {
			n.CarrierData = []byte(data)
		}
		n.SetModule(mod)
		if err := s.CreateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	put("+18005550001", knm.StateAvailable, "knm_local", "", "")
	put("+18005550002", knm.StateAvailable, "knm_inventory", "", "")
	put("+18005550003", knm.StateAvailable, "knm_inventory", "", "")
	put("+18015550004", knm.StateAvailable, "knm_inventory", "", "") // outside +1800
	put("+18005550005", knm.StateReserved, "knm_voxbone", accS, "")
	put("+18005550006", knm.StateReserved, "knm_voxbone", accR, "")
	put("+18005550007", knm.StateAvailable, "knm_managed", "", string(local.ManagedCarrierData(accR)))
	put("+18005550008", knm.StateAvailable, "knm_managed", "", string(local.ManagedCarrierData(accT)))
	put("+18005550009", knm.StateInService, "knm_managed", accS, string(local.ManagedCarrierData(accS)))

	us := func(national string) knm.SearchPrefix { return knm.SearchPrefix{Dialcode: "+1", National: national} }
	opts := knm.SearchOptions{Prefix: us("800"), Quantity: 10, AccountID: accS, ResellerID: accR}
	for _, tt := range []struct {
		c    *local.Carrier
		opts knm.SearchOptions
		want []string
	}{
		{local.NewLocal(s), opts, []string{"+18005550001"}},
		{local.NewInventory(s), opts, []string{"+18005550002", "+18005550003"}},
		{local.NewInventory(s), knm.SearchOptions{Prefix: us("80*"), Quantity: 10, AccountID: accS},
			[]string{"+18005550002", "+18005550003", "+18015550004"}},
		{local.NewInventory(s), knm.SearchOptions{Prefix: us("800"), Quantity: 1, AccountID: accS}, []string{"+18005550002"}},
		{local.NewInventory(s), knm.SearchOptions{Prefix: us("800"), Quantity: 10}, nil}, // no account
		// No "+": nothing, as in Kazoo.
		{local.NewInventory(s), knm.SearchOptions{Prefix: knm.SearchPrefix{National: "1800"}, Quantity: 10,
			AccountID: accS}, nil},
		{local.NewReserved(s), opts, []string{"+18005550005"}},
		{local.NewReservedReseller(s), opts, []string{"+18005550006"}},
		{local.NewReservedReseller(s), knm.SearchOptions{Prefix: us("800"), Quantity: 10, AccountID: accS}, nil},
		// S has no pool of its own, so its reseller's pool is searched.
		{local.NewManaged(s), opts, []string{"+18005550007"}},
		{local.NewManaged(s), knm.SearchOptions{Prefix: us("800"), Quantity: 10, AccountID: accT, ResellerID: accR},
			[]string{"+18005550008"}},
	} {
		rows, err := tt.c.FindNumbers(ctx, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Number)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s %+v = %v, want %v", tt.c.Name(), tt.opts, got, tt.want)
		}
	}
}
