// Package sqlcommon holds what the SQLite and PostgreSQL stores share: the columns and
// how a row becomes a knm value, how a number's less-queried fields are packed into one
// JSON column, how filters become WHERE clauses in either placeholder style, the input
// checks both backends make before writing, and the errors they return.
//
// What differs between the backends stays in them: the SQL dialect, how timestamps are
// stored, driver error detection and transactions.
package sqlcommon

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/knmproject/knm"
)

// extra is the JSON column of a number: every field no query filters on. CarrierData is
// not in it, because encoding/json compacts raw messages and the carrier's bytes are
// kept exactly in a column of their own.
type extra struct {
	PreviouslyAssignedTo string                     `json:"previously_assigned_to,omitempty"`
	ReserveHistory       []string                   `json:"reserve_history,omitempty"`
	UsedBy               string                     `json:"used_by,omitempty"`
	Features             map[string]json.RawMessage `json:"features,omitempty"`
	FeaturesAllowed      []string                   `json:"features_allowed,omitempty"`
	FeaturesDenied       []string                   `json:"features_denied,omitempty"`
	PortedIn             bool                       `json:"ported_in,omitempty"`
	Region               string                     `json:"region,omitempty"`
	Public               map[string]json.RawMessage `json:"public,omitempty"`
}

// encodeExtra returns the JSON column of n.
func encodeExtra(n *knm.Number) ([]byte, error) {
	b, err := json.Marshal(extra{
		PreviouslyAssignedTo: n.PreviouslyAssignedTo,
		ReserveHistory:       n.ReserveHistory,
		UsedBy:               n.UsedBy,
		Features:             n.Features,
		FeaturesAllowed:      n.FeaturesAllowed,
		FeaturesDenied:       n.FeaturesDenied,
		PortedIn:             n.PortedIn,
		Region:               n.Region,
		Public:               n.Public,
	})
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "number %s: features or public fields are not valid JSON", n.Number).Wrap(err)
	}
	return b, nil
}

// decodeExtra fills n's fields from its JSON column.
func decodeExtra(b []byte, n *knm.Number) error {
	var e extra
	if len(b) > 0 {
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("decode number %s: %w", n.Number, err)
		}
	}
	n.PreviouslyAssignedTo = e.PreviouslyAssignedTo
	n.ReserveHistory = e.ReserveHistory
	n.UsedBy = e.UsedBy
	n.Features = e.Features
	n.FeaturesAllowed = e.FeaturesAllowed
	n.FeaturesDenied = e.FeaturesDenied
	n.PortedIn = e.PortedIn
	n.Region = e.Region
	n.Public = e.Public
	return nil
}

// NullText returns raw bytes (JSON payloads, carrier data) as a text value, or nil (SQL
// NULL) when there are none, so that an absent value reads back as absent.
func NullText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// Sec returns t in UTC at the second precision the stores keep, so what a caller holds
// after a write equals what it reads back.
func Sec(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

// Stamp sets the times a create fills in: a zero created or modified time becomes now,
// and both are cut to Sec so the caller holds what the store keeps.
func Stamp(now time.Time, created, modified *time.Time) {
	now = Sec(now)
	if created.IsZero() {
		*created = now
	}
	if modified.IsZero() {
		*modified = now
	}
	*created, *modified = Sec(*created), Sec(*modified)
}
