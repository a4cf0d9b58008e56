package local

import (
	"context"
	"encoding/json"

	"github.com/knmproject/knm"
)

// knm_managed keeps its pool in the ordinary number store, not in a store of its own:
// a managed number is a stored number with module knm_managed, state available, no owner,
// and carrier data {"account_id": "<pool owner>"} (Kazoo's pvt_account_id of the
// numbers/managed document). One store keeps one source of truth: activation is then the
// ordinary available -> in_service transition, and release returns the number to the pool
// (the release pipeline keeps module and carrier data), which is what Kazoo's managed
// disconnect does to its managed document.
//
// Search follows Kazoo: the searching account's pool first; if that is empty and the
// account is not its own reseller, the reseller's pool. Unlike Kazoo, rows come back in
// their stored state (available), not discovery, because the number is already stored.

// managedScanBatch and managedScanMax bound the work of one managed search: the pool owner
// lives in carrier data, which the store cannot filter on, so rows are scanned in batches.
const (
	managedScanBatch = 200
	managedScanMax   = 5000
)

// managedData is the carrier data of a managed number.
type managedData struct {
	AccountID string `json:"account_id"`
}

// NewManaged returns knm_managed (see the comment above for where its pool lives).
func NewManaged(s knm.NumberStore) *Carrier {
	return &Carrier{name: ModuleManaged, kind: kindManaged, store: s, maxPrefix: 15, isLocal: true, billable: true}
}

// ManagedCarrierData returns the carrier data that puts a knm_managed number in the pool of
// account: store the number with module knm_managed, state available and this data.
func ManagedCarrierData(account string) json.RawMessage {
	b, _ := json.Marshal(managedData{AccountID: account})
	return b
}

func (c *Carrier) findManaged(ctx context.Context, opts knm.SearchOptions, prefix string,
	limit int) ([]knm.SearchRow, error) {
	found, err := c.scanManaged(ctx, opts.AccountID, prefix, limit)
	if err != nil || len(found) > 0 || opts.ResellerID == "" || opts.ResellerID == opts.AccountID {
		return rows(found, ""), err
	}
	found, err = c.scanManaged(ctx, opts.ResellerID, prefix, limit)
	return rows(found, ""), err
}

// scanManaged returns up to limit pool numbers of account under prefix.
func (c *Carrier) scanManaged(ctx context.Context, account, prefix string, limit int) ([]*knm.Number, error) {
	var out []*knm.Number
	f := knm.NumberFilter{Module: ModuleManaged, States: []knm.State{knm.StateAvailable}, Prefix: prefix,
		Limit: managedScanBatch}
	for scanned := 0; scanned < managedScanMax; {
		batch, err := c.store.FindNumbers(ctx, f)
		if err != nil {
			return out, err
		}
		for _, n := range batch {
			var d managedData
			if json.Unmarshal(n.CarrierData, &d) == nil && d.AccountID == account {
				out = append(out, n)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if len(batch) < managedScanBatch {
			break
		}
		scanned += len(batch)
		f.After = batch[len(batch)-1].Number
	}
	return out, nil
}
