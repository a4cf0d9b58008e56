package manager

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/knmproject/knm"
)

// TestAPIKeyAccounts: a sub-account made with a key signs in with that key and no other;
// the key itself is not what the store holds; a disabled account's key stops working;
// only admins grant allow_number_additions.
func TestAPIKeyAccounts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		reseller, err := s.GetAccount(ctx, accR)
		if err != nil {
			t.Fatal(err)
		}
		acc, key, err := e.m.CreateAccountWithKey(ctx, reseller, NewAccount{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if acc.ParentID != accR || len(key) != 64 || HashAPIKey(key) == key {
			t.Fatalf("account %+v, key %q", acc, key)
		}
		got, err := e.m.AccountByAPIKey(ctx, key)
		if err != nil || got.ID != acc.ID {
			t.Fatalf("AccountByAPIKey = %+v, %v", got, err)
		}
		_, err = e.m.AccountByAPIKey(ctx, NewAPIKey())
		wantErr(t, err, knm.ErrUnauthorized, "")
		_, err = e.m.AccountByAPIKey(ctx, "")
		wantErr(t, err, knm.ErrInvalid, "api_key")
		got.Enabled = false
		if err := s.UpdateAccount(ctx, got); err != nil {
			t.Fatal(err)
		}
		_, err = e.m.AccountByAPIKey(ctx, key)
		wantErr(t, err, knm.ErrUnauthorized, "")

		_, _, err = e.m.CreateAccountWithKey(ctx, reseller, NewAccount{Name: "x", AllowNumberAdditions: true})
		wantErr(t, err, knm.ErrForbidden, "")
		_, _, err = e.m.CreateAccountWithKey(ctx, reseller, NewAccount{Name: "x", ParentID: "not-an-id"})
		wantErr(t, err, knm.ErrInvalid, "parent_id")
		if ResellerOf(acc) != accR {
			t.Fatalf("ResellerOf = %s, want %s", ResellerOf(acc), accR)
		}
	})
}

// TestCheckNumberPayload: the payload rules by route, which the API and the console share.
func TestCheckNumberPayload(t *testing.T) {
	for _, c := range []struct {
		name  string
		body  string
		kind  PayloadKind
		cause string // "" when valid
	}{
		{"cnam ok", `{"cnam":{"display_name":"Acme"}}`, PayloadPatch, ""},
		{"cnam too long", `{"cnam":{"display_name":"sixteen chars!!!"}}`, PayloadPatch, "cnam.display_name"},
		{"cnam lookup not bool", `{"cnam":{"inbound_lookup":"yes"}}`, PayloadReplace, "cnam.inbound_lookup"},
		{"e911 not object", `{"e911":"x"}`, PayloadPatch, "e911"},
		{"patch removes", `{"e911":null}`, PayloadPatch, ""},
		{"replace cannot null", `{"e911":null}`, PayloadReplace, "e911"},
		{"state on create", `{"state":"in_service"}`, PayloadCreate, "state"},
		{"state dropped on edit", `{"state":"in_service"}`, PayloadPatch, ""},
		{"private key", `{"pvt_x":1}`, PayloadPatch, "pvt_x"},
		{"create_with_state", `{"create_with_state":"reserved"}`, PayloadCreate, ""},
		{"create_with_state on edit", `{"create_with_state":"reserved"}`, PayloadPatch, "create_with_state"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var data map[string]json.RawMessage
			if err := json.Unmarshal([]byte(c.body), &data); err != nil {
				t.Fatal(err)
			}
			err := CheckNumberPayload(data, c.kind)
			if c.cause == "" {
				wantErr(t, err, "", "")
				return
			}
			wantErr(t, err, knm.ErrInvalid, c.cause)
		})
	}
}
