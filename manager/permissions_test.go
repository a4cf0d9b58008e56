package manager

import (
	"context"
	"fmt"
	"testing"

	"github.com/knmproject/knm"
)

// TestPermissionMatrix covers kazoo-knm §3.5 for read, create, reserve, release and hard
// delete by the system pseudo-account, a superduper admin, the reseller, the owner, its
// child, a sibling and another reseller.
func TestPermissionMatrix(t *testing.T) {
	sys := knm.SystemAccountID
	actors := []struct {
		name string
		id   string
	}{{"system", sys}, {"admin", accM}, {"reseller", accR}, {"owner", accS}, {"child", accG}, {"sibling", accT},
		{"other reseller", accO}, {"nobody", ""}}
	type want map[string]knm.ErrorName // actor -> error ("" = allowed)
	F := knm.ErrForbidden
	tests := []struct {
		name  string
		state knm.State
		owner string
		op    func(m *Manager, auth, num string) error
		want  want
	}{
		{"read in_service of owner", knm.StateInService, accS, get,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": F, "sibling": F, "other reseller": F,
				"nobody": F}},
		{"read available", knm.StateAvailable, "", get,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": "", "sibling": "",
				"other reseller": "", "nobody": ""}},
		{"read reserved by reseller", knm.StateReserved, accR, get,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": "", "sibling": "",
				"other reseller": F, "nobody": F}},
		{"read port_in unowned", knm.StatePortIn, "", get,
			want{"system": "", "admin": "", "reseller": F, "owner": F, "child": F, "sibling": F, "other reseller": F,
				"nobody": F}},
		{"reserve available for owner S", knm.StateAvailable, "", reserveFor(accS),
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": F, "sibling": F, "other reseller": F,
				"nobody": F}},
		{"activate reserved-by-reseller for self", knm.StateReserved, accR, activateSelf,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": "", "sibling": "",
				"other reseller": F, "nobody": F}},
		{"release in_service", knm.StateInService, accS, release,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": F, "sibling": F, "other reseller": F,
				"nobody": F}},
		{"hard delete", knm.StateInService, accS, hardDelete,
			want{"system": "", "admin": "", "reseller": F, "owner": F, "child": F, "sibling": F, "other reseller": F,
				"nobody": F}},
	}
	forEachStore(t, func(t *testing.T, s knm.Store) {
		e := newEnv(t, s, Policy{})
		for i, tt := range tests {
			for j, a := range actors {
				w, ok := tt.want[a.name]
				if !ok {
					t.Fatalf("%s: no expectation for %s", tt.name, a.name)
				}
				t.Run(tt.name+"/"+a.name, func(t *testing.T) {
					num := fmt.Sprintf("+1212555%02d%02d", i, j)
					n := &knm.Number{Number: num, State: tt.state, AssignedTo: tt.owner}
					if tt.state == knm.StateReserved {
						n.ReserveHistory = []string{tt.owner}
					}
					e.put(t, n)
					err := tt.op(e.m, a.id, num)
					wantErr(t, err, w, "")
				})
			}
		}
	})
}

func get(m *Manager, auth, num string) error {
	_, err := m.Get(context.Background(), auth, num)
	return err
}
func reserveFor(acc string) func(*Manager, string, string) error {
	return func(m *Manager, auth, num string) error {
		_, err := m.Reserve(context.Background(), auth, num, acc)
		return err
	}
}
func activateSelf(m *Manager, auth, num string) error {
	acc := auth
	if auth == knm.SystemAccountID {
		acc = accS
	}
	_, err := m.Activate(context.Background(), auth, num, acc)
	return err
}
func release(m *Manager, auth, num string) error {
	_, err := m.Release(context.Background(), auth, num)
	return err
}
func hardDelete(m *Manager, auth, num string) error { return m.Delete(context.Background(), auth, num) }
