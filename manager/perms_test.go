package manager

import (
	"context"
	"encoding/json"
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
	}{{"system", sys}, {"admin", accM}, {"reseller", accR}, {"owner", accS}, {"child", accG}, {"sibling", accT}, {"other reseller", accO}, {"nobody", ""}}
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
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": F, "sibling": F, "other reseller": F, "nobody": F}},
		{"read available", knm.StateAvailable, "", get,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": "", "sibling": "", "other reseller": "", "nobody": ""}},
		{"read reserved by reseller", knm.StateReserved, accR, get,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": "", "sibling": "", "other reseller": F, "nobody": F}},
		{"read port_in unowned", knm.StatePortIn, "", get,
			want{"system": "", "admin": "", "reseller": F, "owner": F, "child": F, "sibling": F, "other reseller": F, "nobody": F}},
		{"reserve available for owner S", knm.StateAvailable, "", reserveFor(accS),
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": F, "sibling": F, "other reseller": F, "nobody": F}},
		{"activate reserved-by-reseller for self", knm.StateReserved, accR, activateSelf,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": "", "sibling": "", "other reseller": F, "nobody": F}},
		{"release in_service", knm.StateInService, accS, release,
			want{"system": "", "admin": "", "reseller": "", "owner": "", "child": F, "sibling": F, "other reseller": F, "nobody": F}},
		{"hard delete", knm.StateInService, accS, hardDelete,
			want{"system": "", "admin": "", "reseller": F, "owner": F, "child": F, "sibling": F, "other reseller": F, "nobody": F}},
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

// TestCreate covers creation: allowed states by auth, forced states, number_exists,
// claiming aging/available/port_in numbers, assign_failure and defaults.
func TestCreate(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{AvailableModuleName: "knm_inventory", PortInModuleName: "knm_ported"})
		tests := []struct {
			name   string
			auth   string
			o      CreateOptions
			exists *knm.Number
			err    knm.ErrorName
			cause  string
			state  knm.State
			owner  string
			module string
		}{
			{name: "admin default in_service", auth: accM, o: CreateOptions{AssignTo: accS}, state: knm.StateInService, owner: accS, module: "knm_inventory"},
			{name: "system available unowned", auth: knm.SystemAccountID, o: CreateOptions{State: knm.StateAvailable, AssignTo: accS}, state: knm.StateAvailable, owner: "", module: "knm_inventory"},
			{name: "admin aging", auth: accM, o: CreateOptions{State: knm.StateAging}, state: knm.StateAging},
			{name: "admin reserved", auth: accM, o: CreateOptions{State: knm.StateReserved, AssignTo: accR}, state: knm.StateReserved, owner: accR},
			{name: "admin port_in", auth: accM, o: CreateOptions{State: knm.StatePortIn, AssignTo: accS}, state: knm.StatePortIn, owner: accS, module: "knm_local"},
			{name: "admin discovery refused", auth: accM, o: CreateOptions{State: knm.StateDiscovery, AssignTo: accS}, err: knm.ErrForbidden, cause: "state_for_create"},
			{name: "additions in_service", auth: accA, o: CreateOptions{AssignTo: accA}, state: knm.StateInService, owner: accA},
			{name: "additions reserved", auth: accA, o: CreateOptions{State: knm.StateReserved, AssignTo: accA}, state: knm.StateReserved, owner: accA},
			{name: "additions available refused", auth: accA, o: CreateOptions{State: knm.StateAvailable}, err: knm.ErrForbidden, cause: "state_for_create"},
			{name: "plain account refused", auth: accS, o: CreateOptions{AssignTo: accS}, err: knm.ErrForbidden, cause: "state_for_create"},
			{name: "plain account port_in", auth: accS, o: CreateOptions{State: knm.StatePortIn, AssignTo: accS}, state: knm.StatePortIn, owner: accS},
			{name: "plain account ported_in forced in_service", auth: accS, o: CreateOptions{State: knm.StateReserved, PortedIn: true, AssignTo: accS}, state: knm.StateInService, owner: accS, module: "knm_ported"},
			{name: "mdn forced in_service", auth: accM, o: CreateOptions{State: knm.StateAvailable, ModuleName: "knm_mdn", AssignTo: accS}, state: knm.StateInService, owner: accS, module: "knm_mdn"},
			{name: "malformed assignee", auth: accM, o: CreateOptions{AssignTo: "xyz"}, err: knm.ErrAssignFailure},
			{name: "missing assignee", auth: accM, o: CreateOptions{}, err: knm.ErrAssignFailure, cause: "field_undefined"},
			{name: "exists in_service", auth: accM, o: CreateOptions{AssignTo: accS}, exists: &knm.Number{State: knm.StateInService, AssignedTo: accT}, err: knm.ErrNumberExists},
			{name: "exists reserved", auth: accM, o: CreateOptions{AssignTo: accS}, exists: &knm.Number{State: knm.StateReserved, AssignedTo: accT}, err: knm.ErrNumberExists},
			{name: "claim available", auth: accA, o: CreateOptions{AssignTo: accA}, exists: &knm.Number{State: knm.StateAvailable}, state: knm.StateInService, owner: accA, module: "knm_fake"},
			{name: "claim aging", auth: accA, o: CreateOptions{AssignTo: accA}, exists: &knm.Number{State: knm.StateAging}, state: knm.StateInService, owner: accA},
			{name: "claim port_in by owner", auth: accS, o: CreateOptions{State: knm.StatePortIn, AssignTo: accS}, exists: &knm.Number{State: knm.StatePortIn, AssignedTo: accS}, state: knm.StatePortIn, owner: accS},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				num := fmt.Sprintf("+1303555%04d", i)
				if tt.exists != nil {
					tt.exists.Number = num
					e.put(t, tt.exists)
				}
				tt.o.Public = map[string]json.RawMessage{"cnam": []byte(`{"x":1}`), "pvt_hack": []byte(`1`)}
				n, err := e.m.Create(ctx, tt.auth, num, tt.o)
				wantErr(t, err, tt.err, tt.cause)
				if err != nil {
					return
				}
				st := e.get(t, num)
				if st.State != tt.state || st.AssignedTo != tt.owner || n.State != tt.state {
					t.Fatalf("stored %s, want %s owner %q", st, tt.state, tt.owner)
				}
				if tt.module != "" && st.ModuleName != tt.module {
					t.Fatalf("module %s, want %s", st.ModuleName, tt.module)
				}
				if _, ok := st.Public["pvt_hack"]; ok || st.Public["cnam"] == nil {
					t.Fatalf("public fields %v", st.Public)
				}
			})
		}
	})
}
