package httpapi

import (
	"context"
	"encoding/json"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// The functions below are the API's decisions about API keys, new accounts and number
// payloads, exported so the web console makes exactly the same ones.

// AccountByAPIKey returns the enabled account holding key, or unauthorized "invalid
// credentials" (an unknown key, a disabled account).
func AccountByAPIKey(ctx context.Context, s knm.AccountStore, key string) (*knm.Account, error) {
	if key == "" {
		return nil, knm.Errorf(knm.ErrInvalid, "api_key is required").WithCause("api_key")
	}
	accs, err := s.FindAccounts(ctx, knm.AccountFilter{APIKeyHash: HashAPIKey(key), Limit: 2})
	if err != nil {
		return nil, err
	}
	if len(accs) != 1 || !accs[0].Enabled {
		return nil, knm.Errorf(knm.ErrUnauthorized, "invalid credentials").WithCause("unknown api_key")
	}
	return accs[0], nil
}

// NewAccount is a request for a sub-account.
type NewAccount struct {
	Name                 string `json:"name"`
	ParentID             string `json:"parent_id"` // default: the caller
	Reseller             bool   `json:"is_reseller"`
	AllowNumberAdditions bool   `json:"allow_number_additions"`
}

// CreateAccountWithKey creates a sub-account for me (under req.ParentID when that is me or
// one of my descendants) and gives it a new API key, returned here and nowhere else: only
// its hash is stored. Only superduper admins may grant allow_number_additions (a private
// pvt_ flag in Kazoo).
func CreateAccountWithKey(
	ctx context.Context,
	mgr *manager.Manager,
	s knm.Store,
	me *knm.Account,
	req NewAccount,
) (*knm.Account, string, error) {
	if req.ParentID == "" {
		req.ParentID = me.ID
	} else if !knm.ValidAccountID(req.ParentID) {
		return nil, "", knm.Errorf(knm.ErrInvalid, "parent_id must be 32 hexadecimal characters").WithCause("parent_id")
	}
	if len(req.Name) > 128 {
		return nil, "", knm.Errorf(knm.ErrInvalid, "name must be at most 128 characters").WithCause("name")
	}
	if req.AllowNumberAdditions && !me.SuperduperAdmin {
		return nil, "", knm.Forbidden("allow_number_additions")
	}
	setter, ok := s.(apiKeyHashSetter)
	if !ok {
		return nil, "", knm.Errorf(knm.ErrInternal, "the store cannot hold API keys")
	}
	acc, err := mgr.CreateAccount(ctx, me.ID, req.Name, req.ParentID, req.Reseller)
	if err != nil {
		return nil, "", err
	}
	if req.AllowNumberAdditions {
		acc.AllowNumberAdditions = true
		if err := s.UpdateAccount(ctx, acc); err != nil {
			return nil, "", err
		}
	}
	key := NewAPIKey()
	if err := setter.SetAccountAPIKeyHash(ctx, acc.ID, HashAPIKey(key)); err != nil {
		return nil, "", err
	}
	return acc, key, nil
}

// CheckNumberPatch validates the public fields of a number edit merged into the number
// (PATCH …/{N}), as the API does: the typed feature fields (cnam, e911, failover, …) must
// have their types and limits, read-only keys are dropped, a null removes a field. Each
// error is invalid with the field as cause.
func CheckNumberPatch(data map[string]json.RawMessage) error {
	return checkNumberPayload(data, payloadPatch)
}

// ResellerOf is the reseller whose carrier_modules apply to acc's searches: its own
// reseller, else the root of its tree (the master), else itself.
func ResellerOf(acc *knm.Account) string { return resellerOf(acc) }
