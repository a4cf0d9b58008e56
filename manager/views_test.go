package manager

import (
	"context"
	"testing"

	"github.com/knmproject/knm"
)

// TestReleasePreviewSaysWhatReleaseDoes previews releases of every kind, checks the
// preview changed nothing, then releases and compares.
func TestReleasePreviewSaysWhatReleaseDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vox := newFake("knm_vox")
	vox.returns = true
	e := newEnv(t, openSQLite(t), Policy{}, vox, newFake("knm_fake"))
	e.put(t, &knm.Number{Number: "+14155550201", State: knm.StateInService, AssignedTo: accS, ReserveHistory: []string{accS}})
	e.put(t, &knm.Number{Number: "+14155550202", State: knm.StateReserved, AssignedTo: accS, ReserveHistory: []string{accS, accR}})
	n := &knm.Number{Number: "+14155550203", State: knm.StateInService, AssignedTo: accS, ReserveHistory: []string{accS}}
	n.SetModule("knm_vox")
	e.put(t, n)
	for _, c := range []struct {
		num               string
		deleted, takeBack bool
		state             knm.State
		to                string
	}{
		{"+14155550201", false, false, knm.StateAvailable, ""},
		{"+14155550202", false, false, knm.StateReserved, accR},
		{"+14155550203", true, true, knm.StateAvailable, ""},
	} {
		eff, err := e.m.ReleasePreview(ctx, accS, c.num)
		if err != nil {
			t.Fatalf("%s: %v", c.num, err)
		}
		if eff.Deleted != c.deleted || eff.CarrierTakesBack != c.takeBack || eff.State != c.state || eff.AssignedTo != c.to {
			t.Errorf("%s: preview %+v", c.num, eff)
		}
		if got := e.get(t, c.num); got.Rev != 1 {
			t.Fatalf("%s: the preview wrote (rev %d)", c.num, got.Rev)
		}
		after, err := e.m.Release(ctx, accS, c.num)
		switch {
		case err != nil:
			t.Fatalf("%s: release: %v", c.num, err)
		case c.deleted != (after == nil):
			t.Errorf("%s: preview said deleted=%v, release returned %+v", c.num, c.deleted, after)
		case after != nil && (after.State != c.state || after.AssignedTo != c.to):
			t.Errorf("%s: release made %s for %q", c.num, after.State, after.AssignedTo)
		}
	}
	// Refused as Release refuses: another tree, and a state that cannot be released.
	e.put(t, &knm.Number{Number: "+14155550204", State: knm.StateInService, AssignedTo: accO, ReserveHistory: []string{accO}})
	_, err := e.m.ReleasePreview(ctx, accS, "+14155550204")
	wantErr(t, err, knm.ErrForbidden, "")
	e.put(t, &knm.Number{Number: "+14155550205", State: knm.StateAvailable})
	_, err = e.m.ReleasePreview(ctx, accS, "+14155550205")
	wantErr(t, err, knm.ErrInvalidStateTransition, "")
}

// TestScopedAccountAndCountFollowTheTree checks the account scope and counts as the
// listing decides them.
func TestScopedAccountAndCountFollowTheTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, openSQLite(t), Policy{})
	e.put(t, &knm.Number{Number: "+14155550301", State: knm.StateInService, AssignedTo: accS})
	e.put(t, &knm.Number{Number: "+14155550302", State: knm.StateInService, AssignedTo: accO})
	reseller, _ := e.s.GetAccount(ctx, accR)
	if acc, err := e.m.ScopedAccount(ctx, reseller, accS); err != nil || acc.ID != accS {
		t.Fatalf("reseller to its sub-account: %v", err)
	}
	_, err := e.m.ScopedAccount(ctx, reseller, accO)
	wantErr(t, err, knm.ErrForbidden, "")
	_, err = e.m.ScopedAccount(ctx, reseller, "0000000000000000000000000000dead")
	wantErr(t, err, knm.ErrForbidden, "")
	if n, err := e.m.Count(ctx, accR, accS, ListFilter{States: []knm.State{knm.StateInService}}); err != nil || n != 1 {
		t.Fatalf("reseller counts its sub-account: %d %v", n, err)
	}
	_, err = e.m.Count(ctx, accR, "", ListFilter{})
	wantErr(t, err, knm.ErrForbidden, "")
	if n, err := e.m.Count(ctx, accM, "", ListFilter{Module: "knm_fake"}); err != nil || n != 2 {
		t.Fatalf("master counts every number: %d %v", n, err)
	}
	if MayOrder(reseller, true) == nil || MayOrder(reseller, false) != nil {
		t.Fatal("MayOrder: a reseller may order but not as the master")
	}
}
