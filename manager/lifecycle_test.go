package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/knmproject/knm"
)

// createCase is one row of TestCreate.
type createCase struct {
	name   string
	auth   string
	o      CreateOptions
	exists *knm.Number
	err    knm.ErrorName
	cause  string
	state  knm.State
	owner  string
	module string
}

// createCases transcribe Kazoo's creation rules row by row: allowed states by auth, forced
// states, number_exists and claiming a stored number.
var createCases = []createCase{
	{name: "admin default in_service", auth: accM, o: CreateOptions{AssignTo: accS}, state: knm.StateInService,
		owner: accS, module: "knm_inventory"},
	{name: "system available unowned", auth: knm.SystemAccountID, o: CreateOptions{State: knm.StateAvailable,
		AssignTo: accS}, state: knm.StateAvailable, owner: "", module: "knm_inventory"},
	{name: "admin aging", auth: accM, o: CreateOptions{State: knm.StateAging}, state: knm.StateAging},
	{name: "admin reserved", auth: accM, o: CreateOptions{State: knm.StateReserved, AssignTo: accR},
		state: knm.StateReserved, owner: accR},
	{name: "admin port_in", auth: accM, o: CreateOptions{State: knm.StatePortIn, AssignTo: accS},
		state: knm.StatePortIn, owner: accS, module: "knm_local"},
	{name: "admin discovery refused", auth: accM, o: CreateOptions{State: knm.StateDiscovery, AssignTo: accS},
		err: knm.ErrForbidden, cause: "state_for_create"},
	{name: "additions in_service", auth: accA, o: CreateOptions{AssignTo: accA}, state: knm.StateInService,
		owner: accA},
	{name: "additions reserved", auth: accA, o: CreateOptions{State: knm.StateReserved, AssignTo: accA},
		state: knm.StateReserved, owner: accA},
	{name: "additions available refused", auth: accA, o: CreateOptions{State: knm.StateAvailable},
		err: knm.ErrForbidden, cause: "state_for_create"},
	{name: "plain account refused", auth: accS, o: CreateOptions{AssignTo: accS}, err: knm.ErrForbidden,
		cause: "state_for_create"},
	{name: "plain account port_in", auth: accS, o: CreateOptions{State: knm.StatePortIn, AssignTo: accS},
		state: knm.StatePortIn, owner: accS},
	{name: "plain account ported_in forced in_service", auth: accS, o: CreateOptions{State: knm.StateReserved,
		PortedIn: true, AssignTo: accS}, state: knm.StateInService, owner: accS, module: "knm_ported"},
	{name: "mdn forced in_service", auth: accM, o: CreateOptions{State: knm.StateAvailable,
		ModuleName: "knm_mdn", AssignTo: accS}, state: knm.StateInService, owner: accS, module: "knm_mdn"},
	{name: "malformed assignee", auth: accM, o: CreateOptions{AssignTo: "xyz"}, err: knm.ErrAssignFailure},
	{name: "missing assignee", auth: accM, o: CreateOptions{}, err: knm.ErrAssignFailure,
		cause: "field_undefined"},
	{name: "exists in_service", auth: accM, o: CreateOptions{AssignTo: accS},
		exists: &knm.Number{State: knm.StateInService, AssignedTo: accT}, err: knm.ErrNumberExists},
	{name: "exists reserved", auth: accM, o: CreateOptions{AssignTo: accS},
		exists: &knm.Number{State: knm.StateReserved, AssignedTo: accT}, err: knm.ErrNumberExists},
	{name: "claim available", auth: accA, o: CreateOptions{AssignTo: accA},
		exists: &knm.Number{State: knm.StateAvailable}, state: knm.StateInService, owner: accA,
		module: "knm_fake"},
	{name: "claim aging", auth: accA, o: CreateOptions{AssignTo: accA},
		exists: &knm.Number{State: knm.StateAging}, state: knm.StateInService, owner: accA},
	{name: "claim port_in by owner", auth: accS, o: CreateOptions{State: knm.StatePortIn, AssignTo: accS},
		exists: &knm.Number{State: knm.StatePortIn, AssignedTo: accS}, state: knm.StatePortIn, owner: accS},
}

// TestCreate covers creation: allowed states by auth, forced states, number_exists,
// claiming aging/available/port_in numbers, assign_failure and defaults.
func TestCreate(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{AvailableModuleName: "knm_inventory", PortInModuleName: "knm_ported"})
		for i, tt := range createCases {
			t.Run(tt.name, func(t *testing.T) {
				num := fmt.Sprintf("+1303555%04d", i)
				if tt.exists != nil {
					stored := *tt.exists // the table is shared by every backend's run
					stored.Number = num
					e.put(t, &stored)
				}
				tt.o.Public = map[string]json.RawMessage{"label": []byte(`{"x":1}`), "pvt_hack": []byte(`1`)}
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
				if _, ok := st.Public["pvt_hack"]; ok || st.Public["label"] == nil {
					t.Fatalf("public fields %v", st.Public)
				}
			})
		}
	})
}

// TestPortInTakeover: a sibling cannot take over a number another account is porting in
// by creating it again in port_in, which Kazoo's letter allows; the owner (or its
// ancestors) still can.
func TestPortInTakeover(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		num := "+16175550100"
		if _, err := e.m.Create(ctx, accS, num, CreateOptions{AssignTo: accS, State: knm.StatePortIn}); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.Create(ctx, accT, num, CreateOptions{AssignTo: accT, State: knm.StatePortIn})
		if !knm.IsErrorName(err, knm.ErrForbidden) {
			t.Errorf("sibling took over a port_in number: %v", err)
		}
		if n := e.get(t, num); n.AssignedTo != accS {
			t.Fatalf("owner changed to %s", n.AssignedTo)
		}
		if _, err := e.m.Create(ctx, accR, num, CreateOptions{AssignTo: accS, State: knm.StatePortIn}); err != nil {
			t.Errorf("the owner's reseller re-created it: %v", err)
		}
	})
}
