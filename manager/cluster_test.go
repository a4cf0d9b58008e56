//go:build !nopg

package manager

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/knmproject/knm"
)

// cluster is two Managers, each with its own connection pool, on one PostgreSQL database,
// as two knm instances would be, each with its own instance of a fake carrier offering 30
// discovery numbers.
type cluster struct {
	s1     knm.Store
	e1, e2 *env
	f1, f2 *fakeCarrier
}

func newCluster(t *testing.T) *cluster {
	dsn := pgSchemaDSN(t)
	s1, s2 := openPostgresDSN(t, dsn), openPostgresDSN(t, dsn)
	var rows []knm.SearchRow
	for i := range 30 {
		rows = append(rows, row(fmt.Sprintf("+1415555%04d", 1000+i), "knm_fake", knm.StateDiscovery))
	}
	f1, f2 := newFake("knm_fake", rows...), newFake("knm_fake", rows...)
	pol := Policy{CarrierModules: []string{"knm_fake"}}
	return &cluster{s1: s1, e1: newEnv(t, s1, pol, f1), e2: attachEnv(t, s2, pol, f2), f1: f1, f2: f2}
}

// TestClusterSearchPages: page 2 of a search made on one instance is served by the other
// from the shared cache, and a discovery number found on one is activated on the other.
func TestClusterSearchPages(t *testing.T) {
	c := newCluster(t)
	e1, e2, f1, f2 := c.e1, c.e2, c.f1, c.f2
	ctx := context.Background()
	req := SearchRequest{Prefix: "415", Quantity: 10, AccountID: accS, ResellerID: accR, AuthToken: "t"}
	p1, err := e1.m.Search(ctx, req)
	if err != nil || len(p1.Numbers) != 10 {
		t.Fatalf("page 1: %v %v", p1, err)
	}
	req.Offset = 10
	p2, err := e2.m.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Numbers) != 10 || p2.Numbers[0].Number != "+14155551010" || f2.finds.Load() != 0 {
		t.Fatalf("page 2 on instance 2: %v (instance 2 carrier calls: %d)", p2.Numbers, f2.finds.Load())
	}
	// And a discovery number found on instance 1 is activated on instance 2.
	if _, err := e2.m.Activate(ctx, accS, "+14155551015", accS); err != nil {
		t.Fatal(err)
	}
	if f2.acquires.Load() != 1 || f1.acquires.Load() != 0 {
		t.Fatalf("acquires: instance 1 %d, instance 2 %d", f1.acquires.Load(), f2.acquires.Load())
	}
}

// TestClusterActivationRace: 20 accounts activating one number through two instances at
// once leave exactly one owner.
func TestClusterActivationRace(t *testing.T) {
	c := newCluster(t)
	e1, e2, s1 := c.e1, c.e2, c.s1
	ctx := context.Background()
	const num = "+14155559999"
	e1.put(t, &knm.Number{Number: num, State: knm.StateAvailable, ModuleName: "knm_inventory"})
	accounts := make([]string, 20)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%032x", 0x1000+i)
		a := &knm.Account{ID: accounts[i], Name: accounts[i], ParentID: accR, Tree: []string{accM, accR},
			ResellerID: accR, Enabled: true}
		if err := s1.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(accounts))
	for i, acc := range accounts {
		m := e1.m
		if i%2 == 1 {
			m = e2.m
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = m.Activate(ctx, acc, num, acc)
		}()
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			if got := e1.get(t, num).AssignedTo; got != accounts[i] {
				t.Fatalf("winner %s but stored owner %s", accounts[i], got)
			}
		case knm.IsErrorName(err, knm.ErrForbidden):
		default:
			t.Errorf("account %d: unexpected error %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d activations succeeded, want exactly 1", winners)
	}
}

// TestClusterImport: an import re-run on the other instance skips everything the first
// stored.
func TestClusterImport(t *testing.T) {
	c := newCluster(t)
	e1, e2 := c.e1, c.e2
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("e164\n")
	for i := range 2500 {
		fmt.Fprintf(&b, "+1646555%04d\n", i)
	}
	b.WriteString("garbage\n")
	rep, err := e1.m.Import(ctx, strings.NewReader(b.String()), ImportOptions{BatchSize: 700}, nil)
	if err != nil || rep.Imported != 2500 || rep.Rejected != 1 {
		t.Fatalf("first import %+v %v", rep, err)
	}
	rep, err = e2.m.Import(ctx, strings.NewReader(b.String()), ImportOptions{}, nil)
	if err != nil || rep.Imported != 0 || rep.Skipped != 2500 || rep.Rejected != 1 {
		t.Fatalf("second import %+v %v", rep, err)
	}
}
