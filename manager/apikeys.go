package manager

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/knmproject/knm"
)

// HashAPIKey returns the hash under which an account's API key is stored: the key itself
// is never stored, so a leaked database does not leak working credentials.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// NewAPIKey returns a random 256-bit API key in hex.
func NewAPIKey() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// APIKeyHashSetter is a store that can hold an account's API key hash (both backends are),
// restated here so the manager does not import the database drivers.
type APIKeyHashSetter interface {
	SetAccountAPIKeyHash(ctx context.Context, accountID, hash string) error
}

// AccountByAPIKey returns the enabled account holding key, or unauthorized "invalid
// credentials" (an unknown key, a disabled account): the API's api_auth and the console's
// sign-in both decide with it.
func (m *Manager) AccountByAPIKey(ctx context.Context, key string) (*knm.Account, error) {
	if key == "" {
		return nil, knm.Errorf(knm.ErrInvalid, "api_key is required").WithCause("api_key")
	}
	accs, err := m.store.FindAccounts(ctx, knm.AccountFilter{APIKeyHash: HashAPIKey(key), Limit: 2})
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
func (m *Manager) CreateAccountWithKey(
	ctx context.Context,
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
	setter, ok := m.store.(APIKeyHashSetter)
	if !ok {
		return nil, "", knm.Errorf(knm.ErrInternal, "the store cannot hold API keys")
	}
	acc, err := m.CreateAccount(ctx, me.ID, req.Name, req.ParentID, req.Reseller)
	if err != nil {
		return nil, "", err
	}
	if req.AllowNumberAdditions {
		acc.AllowNumberAdditions = true
		if err := m.store.UpdateAccount(ctx, acc); err != nil {
			return nil, "", err
		}
	}
	key := NewAPIKey()
	if err := setter.SetAccountAPIKeyHash(ctx, acc.ID, HashAPIKey(key)); err != nil {
		return nil, "", err
	}
	return acc, key, nil
}

// ResellerOf is the reseller whose carrier_modules apply to acc's searches: its own
// reseller, else the root of its tree (the master), else itself.
func ResellerOf(acc *knm.Account) string {
	switch {
	case acc.ResellerID != "":
		return acc.ResellerID
	case len(acc.Tree) > 0:
		return acc.Tree[0]
	}
	return acc.ID
}
