package carriers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

type stub struct{ name string }

func (s stub) Name() string { return s.name }
func (stub) FindNumbers(context.Context, knm.SearchOptions) ([]knm.SearchRow, error) {
	return nil, nil
}
func (stub) AcquireNumber(context.Context, *knm.Number) error    { return nil }
func (stub) DisconnectNumber(context.Context, *knm.Number) error { return nil }
func (stub) IsNumberBillable(*knm.Number) bool                   { return false }
func (stub) ShouldLookupCNAM() bool                              { return false }
func (stub) IsLocal() bool                                       { return true }
func (stub) CheckNumbers(context.Context, []string) (map[string]string, error) {
	return nil, knm.ErrNotImplemented
}
func (stub) Info() knm.CarrierInfo { return knm.CarrierInfo{} }

func factory(name string) Factory { return func() (knm.Carrier, error) { return stub{name}, nil } }

func TestRegistryNew(t *testing.T) {
	var r Registry
	r.Register("knm_b", factory("knm_b"))
	r.Register("knm_a", factory("knm_a"))
	r.Register("knm_broken", func() (knm.Carrier, error) { return nil, errors.New("no credentials") })
	var logs bytes.Buffer
	got := r.New([]string{"knm_b", "knm_typo", "knm_a", "knm_b", "knm_broken"}, slog.New(slog.NewTextHandler(&logs, nil)))
	var names []string
	for _, c := range got {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "knm_b,knm_a" {
		t.Fatalf("New = %v, want knm_b,knm_a (order kept, repeats and unknowns dropped)", names)
	}
	for _, want := range []string{"module=knm_typo", "module=knm_broken", "no credentials"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if n := r.Names(); strings.Join(n, ",") != "knm_a,knm_b,knm_broken" {
		t.Fatalf("Names = %v", n)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	var r Registry
	r.Register("knm_a", factory("knm_a"))
	defer func() {
		if recover() == nil {
			t.Fatal("second Register did not panic")
		}
	}()
	r.Register("knm_a", factory("knm_a"))
}

// recovering is a module that can settle unfinished work.
type recovering struct{ stub }

func (recovering) RecoverIdle(context.Context, time.Duration) (knm.RecoverSummary, error) {
	return knm.RecoverSummary{}, nil
}

func TestRecoverersYieldsOnlyRecoverers(t *testing.T) {
	var r Registry
	r.Register("knm_z", func() (knm.Carrier, error) { return recovering{stub{"knm_z"}}, nil })
	r.Register("knm_plain", factory("knm_plain"))
	r.Register("knm_a", func() (knm.Carrier, error) { return recovering{stub{"knm_a"}}, nil })
	r.Register("knm_broken", func() (knm.Carrier, error) { return nil, errors.New("no credentials") })
	var names []string
	for name := range r.Recoverers(slog.New(slog.DiscardHandler)) {
		names = append(names, name)
	}
	if strings.Join(names, ",") != "knm_a,knm_z" {
		t.Fatalf("Recoverers = %v, want knm_a,knm_z (recoverers only, by name)", names)
	}
	for range r.Recoverers(nil) {
		break // stopping early must not panic
	}
}
