package manager

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/local"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/store/sqlite"
)

// quiet drops the warnings tests provoke on purpose.
var quiet = slog.New(slog.DiscardHandler)

// backend opens a fresh, empty store of one kind for one test.
type backend struct {
	name string
	open func(t *testing.T) knm.Store
}

// backends lists SQLite and, in helper_pg_test.go, PostgreSQL.
var backends = []backend{{"sqlite", openSQLite}}

func openSQLite(t *testing.T) knm.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "knm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachStore runs body once per backend, each on a fresh store.
func forEachStore(t *testing.T, body func(t *testing.T, s knm.Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { body(t, b.open(t)) })
	}
}

// Account fixture: master M (superduper) > reseller R > sub-accounts S (> grandchild G),
// sibling T and A (allowed to add numbers); M > other reseller O.
var (
	accM = strings.Repeat("a", 32)
	accR = strings.Repeat("b", 32)
	accS = strings.Repeat("c", 32)
	accT = strings.Repeat("d", 32)
	accG = strings.Repeat("e", 32)
	accO = strings.Repeat("f", 32)
	accA = "0123456789abcdef0123456789abcdef"
)

func seedAccounts(t *testing.T, s knm.Store) {
	t.Helper()
	accs := []*knm.Account{
		{ID: accM, Name: "master", SuperduperAdmin: true, Reseller: true, ResellerID: accM},
		{ID: accR, Name: "reseller", ParentID: accM, Tree: []string{accM}, Reseller: true, ResellerID: accR},
		{ID: accS, Name: "sub", ParentID: accR, Tree: []string{accM, accR}, ResellerID: accR},
		{ID: accT, Name: "sibling", ParentID: accR, Tree: []string{accM, accR}, ResellerID: accR},
		{ID: accG, Name: "grandchild", ParentID: accS, Tree: []string{accM, accR, accS}, ResellerID: accR},
		{ID: accO, Name: "other reseller", ParentID: accM, Tree: []string{accM}, Reseller: true, ResellerID: accO},
		{ID: accA, Name: "adder", ParentID: accR, Tree: []string{accM, accR}, ResellerID: accR, AllowNumberAdditions: true},
	}
	for _, a := range accs {
		a.Enabled = true
		if err := s.CreateAccount(context.Background(), a); err != nil {
			t.Fatalf("create account %s: %v", a.Name, err)
		}
	}
}

// fakeCarrier is a test double of a remote carrier module.
type fakeCarrier struct {
	name       string
	rows       []knm.SearchRow
	err        error
	delay      time.Duration // FindNumbers sleeps this long, or until its ctx ends
	cancelled  chan struct{} // closed when FindNumbers saw its ctx end
	once       sync.Once
	finds      atomic.Int32
	acquires   atomic.Int32
	disconns   atomic.Int32
	acquireErr error
	returns    bool // implements knm.NumberReturner with this answer
	// offer is offered through SearchProgress before the delay; commit, when set, is
	// committed to as an order before the delay.
	offer  []knm.SearchRow
	commit string
}

func newFake(name string, rows ...knm.SearchRow) *fakeCarrier {
	return &fakeCarrier{name: name, rows: rows, cancelled: make(chan struct{})}
}

func (f *fakeCarrier) Name() string { return f.name }
func (f *fakeCarrier) FindNumbers(ctx context.Context, opts knm.SearchOptions) ([]knm.SearchRow, error) {
	f.finds.Add(1)
	if f.offer != nil {
		opts.Offer(f.offer)
	}
	if f.commit != "" {
		opts.Committed(f.commit)
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			f.once.Do(func() { close(f.cancelled) })
			return nil, ctx.Err()
		}
	}
	return f.rows, f.err
}
func (f *fakeCarrier) AcquireNumber(context.Context, *knm.Number) error {
	f.acquires.Add(1)
	return f.acquireErr
}
func (f *fakeCarrier) DisconnectNumber(context.Context, *knm.Number) error {
	f.disconns.Add(1)
	return nil
}
func (f *fakeCarrier) ReturnsNumberOnDisconnect() bool   { return f.returns }
func (f *fakeCarrier) IsNumberBillable(*knm.Number) bool { return true }
func (f *fakeCarrier) ShouldLookupCNAM() bool            { return false }
func (f *fakeCarrier) IsLocal() bool                     { return false }
func (f *fakeCarrier) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, knm.ErrNotImplemented
}
func (f *fakeCarrier) Info() knm.CarrierInfo { return knm.CarrierInfo{MaximalPrefixLength: 3} }

// env is a manager over a real store, with the local carriers and some fakes registered.
type env struct {
	s   knm.Store
	m   *Manager
	reg *carriers.Registry
	pol Policy
}

// newEnv seeds the account fixture and returns a manager using policy p (zero fields take
// the defaults) and the given fake carriers.
func newEnv(t *testing.T, s knm.Store, p Policy, fakes ...*fakeCarrier) *env {
	t.Helper()
	seedAccounts(t, s)
	return attachEnv(t, s, p, fakes...)
}

// attachEnv returns another manager on a store that is already seeded.
func attachEnv(t *testing.T, s knm.Store, p Policy, fakes ...*fakeCarrier) *env {
	t.Helper()
	e := &env{s: s, reg: &carriers.Registry{}, pol: p}
	local.RegisterAll(e.reg, s)
	for _, f := range fakes {
		e.reg.Register(f.name, func() (knm.Carrier, error) { return f, nil })
	}
	m, err := New(Options{
		Store:    s,
		Policy:   func(context.Context) (Policy, error) { return e.pol, nil },
		Carriers: func(names []string) []knm.Carrier { return e.reg.New(names, quiet) },
		Logger:   quiet,
		// The real normaliser, as cmd/knm wires it.
		Normalize: e164.Default().Normalize,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

// put stores a number as given.
func (e *env) put(t *testing.T, n *knm.Number) *knm.Number {
	t.Helper()
	if n.ModuleName == "" {
		n.SetModule("knm_fake")
	}
	if err := e.s.CreateNumber(context.Background(), n); err != nil {
		t.Fatalf("create %s: %v", n.Number, err)
	}
	return n
}

func (e *env) get(t *testing.T, num string) *knm.Number {
	t.Helper()
	n, err := e.s.GetNumber(context.Background(), num)
	if err != nil {
		t.Fatalf("get %s: %v", num, err)
	}
	return n
}

// wantErr checks the knm error name and, when cause is not "", its cause.
func wantErr(t *testing.T, err error, name knm.ErrorName, cause string) {
	t.Helper()
	if name == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ke *knm.Error
	if !errors.As(err, &ke) {
		t.Fatalf("error = %v, want %s", err, name)
	}
	if ke.Name != name || (cause != "" && ke.Cause != cause) {
		t.Fatalf("error = %s (cause %q), want %s (cause %q)", ke.Name, ke.Cause, name, cause)
	}
}

// newReleaseEnv is newEnv with two fake carriers: knm_fake, which keeps a disconnected
// number, and knm_returning, which takes it back for good (knm.NumberReturner).
func newReleaseEnv(t *testing.T, s knm.Store) (e *env, fake, returning *fakeCarrier) {
	t.Helper()
	fake, returning = newFake("knm_fake"), newFake("knm_returning")
	returning.returns = true
	return newEnv(t, s, Policy{}, fake, returning), fake, returning
}
