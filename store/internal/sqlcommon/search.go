package sqlcommon

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/knmproject/knm"
)

// A search is stored as ONE row holding all its results, not one row per number: a search
// that merges a few hundred numbers (maximum_search_quantity, so later pages are complete)
// then costs one insert, which keeps a fresh search within a few milliseconds. Only
// discovery rows, which activation looks up by number, are also stored one per row.

// storedSearchRow is a knm.SearchRow as kept inside the search's row. Carrier data is kept
// as a string of its JSON text, so its bytes come back exactly as they were given
// (json.RawMessage would be re-compacted).
type storedSearchRow struct {
	Number      string `json:"n"`
	Module      string `json:"m,omitempty"`
	State       string `json:"s,omitempty"`
	CarrierData string `json:"c,omitempty"`
}

// EncodeSearch checks and sorts the rows of a search and returns them encoded for its one
// row, with the discovery rows among them. A repeated number is knm.ErrInvalid.
func EncodeSearch(queryID string, rows []knm.SearchRow) (encoded []byte, discovery []knm.SearchRow, err error) {
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b knm.SearchRow) int { return strings.Compare(a.Number, b.Number) })
	stored := make([]storedSearchRow, len(sorted))
	for i, r := range sorted {
		if i > 0 && r.Number == sorted[i-1].Number {
			return nil, nil, knm.Errorf(knm.ErrInvalid, "search %s repeats number %s", queryID, r.Number)
		}
		stored[i] = storedSearchRow{Number: r.Number, Module: r.Module, State: string(r.State),
			CarrierData: string(r.CarrierData)}
		if r.State == knm.StateDiscovery {
			discovery = append(discovery, r)
		}
	}
	encoded, err = json.Marshal(stored)
	return encoded, discovery, err
}

// PageSearch returns rows [offset, offset+limit) of an encoded search (limit 0: all rows
// from offset).
func PageSearch(encoded []byte, offset, limit int) ([]knm.SearchRow, error) {
	var stored []storedSearchRow
	if err := json.Unmarshal(encoded, &stored); err != nil {
		return nil, err
	}
	if offset >= len(stored) {
		return nil, nil
	}
	stored = stored[max(offset, 0):]
	if limit > 0 && limit < len(stored) {
		stored = stored[:limit]
	}
	out := make([]knm.SearchRow, len(stored))
	for i, r := range stored {
		out[i] = knm.SearchRow{Number: r.Number, Module: r.Module, State: knm.State(r.State)}
		if r.CarrierData != "" {
			out[i].CarrierData = json.RawMessage(r.CarrierData)
		}
	}
	return out, nil
}
