package manager

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/knmproject/knm"
)

// Get returns a number if auth may read it (kazoo-knm §3.5 "Reading"): available numbers
// are public, others need is_authorized or is_reserved_from_parent. Errors: not_found,
// not_reconcilable, forbidden.
func (m *Manager) Get(ctx context.Context, auth, number string) (*knm.Number, error) {
	num, err := m.CheckNumber(number)
	if err != nil {
		return nil, err
	}
	n, err := m.store.GetNumber(ctx, num)
	if err != nil {
		return nil, err
	}
	if err := require(m.authz(ctx, auth).canRead(n)); err != nil {
		return nil, err
	}
	return n, nil
}

// Update replaces the public fields of a number (POST …/{N}); auth needs is_authorized.
func (m *Manager) Update(ctx context.Context, auth, number string,
	public map[string]json.RawMessage) (*knm.Number, error) {
	return m.changePublic(ctx, auth, number, func(*knm.Number) map[string]json.RawMessage {
		return sanitizePublic(public)
	})
}

// Patch merges fields into the public fields of a number (PATCH …/{N}); a null value
// removes a field, as in a JSON merge patch. auth needs is_authorized.
func (m *Manager) Patch(ctx context.Context, auth, number string,
	public map[string]json.RawMessage) (*knm.Number, error) {
	return m.changePublic(ctx, auth, number, func(n *knm.Number) map[string]json.RawMessage {
		mergePublic(n, public)
		return n.Public
	})
}

// mergePublic merges fields into n's public fields; a null value removes a field.
func mergePublic(n *knm.Number, public map[string]json.RawMessage) {
	if len(public) == 0 {
		return
	}
	if n.Public == nil {
		n.Public = map[string]json.RawMessage{}
	}
	for k, v := range sanitizePublic(public) {
		if string(v) == "null" {
			delete(n.Public, k)
		} else {
			n.Public[k] = v
		}
	}
}

func (m *Manager) changePublic(ctx context.Context, auth, number string,
	change func(*knm.Number) map[string]json.RawMessage) (*knm.Number, error) {
	num, err := m.CheckNumber(number)
	if err != nil {
		return nil, err
	}
	for range maxWriteAttempts {
		cur, err := m.store.GetNumber(ctx, num)
		if err != nil {
			return nil, err
		}
		a := m.authz(ctx, auth)
		if err := require(a.isAuthorized(cur, "")); err != nil {
			return nil, err
		}
		n := cur.Clone()
		n.Public = change(n)
		if err := m.applyFeatures(ctx, a, n); err != nil {
			return nil, err
		}
		if err := m.store.UpdateNumber(ctx, n); !retryable(err) {
			if err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	return nil, knm.Conflict("number " + num)
}

// sanitizePublic drops private keys and the keys Kazoo's sanitize_public_fields removes.
func sanitizePublic(in map[string]json.RawMessage) map[string]json.RawMessage {
	if in == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(in))
	for k, v := range in {
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "pvt_") || k == "id" || k == "used_by" {
			continue
		}
		out[k] = v
	}
	return out
}

// ListFilter narrows List.
type ListFilter struct {
	States []knm.State
	Prefix string
	Module string // pvt_module_name; "" for any
	// After keeps the numbers after this one: the keyset "next page" that continues where
	// the previous page ended, which costs what the first page does at any depth (Offset
	// reads and skips every row before the page).
	After  string
	Offset int
	Limit  int
}

// List returns the numbers assigned to accountID and how many match in all. auth must be
// an admin or accountID itself or one of its ancestors (forbidden otherwise). An empty
// accountID lists every number, for admins only.
func (m *Manager) List(ctx context.Context, auth, accountID string, f ListFilter) ([]*knm.Number, int, error) {
	nf, err := m.listFilter(ctx, auth, accountID, f)
	if err != nil {
		return nil, 0, err
	}
	total, err := m.store.CountNumbers(ctx, nf)
	if err != nil {
		return nil, 0, err
	}
	ns, err := m.store.FindNumbers(ctx, nf)
	return ns, total, err
}

// Page is List without the total, for a caller that counts once and reads a page in
// several parts.
func (m *Manager) Page(ctx context.Context, auth, accountID string, f ListFilter) ([]*knm.Number, error) {
	nf, err := m.listFilter(ctx, auth, accountID, f)
	if err != nil {
		return nil, err
	}
	return m.store.FindNumbers(ctx, nf)
}

// ListPage is one keyset page of List (knm.NumberStore.ListNumbers: o.Sort, o.After and
// o.Limit page it; f's After, Offset and Limit are ignored), without the total.
func (m *Manager) ListPage(ctx context.Context, auth, accountID string, f ListFilter,
	o knm.ListOptions) (knm.NumberPage, error) {
	nf, err := m.listFilter(ctx, auth, accountID, f)
	if err != nil {
		return knm.NumberPage{}, err
	}
	return m.store.ListNumbers(ctx, nf, o)
}

// listFilter checks List's permission rule and returns the store filter of f.
func (m *Manager) listFilter(ctx context.Context, auth, accountID string, f ListFilter) (knm.NumberFilter, error) {
	if err := m.authz(ctx, auth).mayList(auth, accountID); err != nil {
		return knm.NumberFilter{}, err
	}
	nf := knm.NumberFilter{States: f.States, Prefix: f.Prefix, Module: f.Module, After: f.After, Offset: f.Offset,
		Limit: f.Limit}
	if accountID != "" {
		nf.AssignedTo = &accountID
	}
	return nf, nil
}

func containsState(ss []knm.State, s knm.State) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}
