// Package sqlcommon holds what the SQLite and PostgreSQL stores share: how a number's
// less-queried fields are packed into one JSON column, how a NumberFilter becomes a WHERE
// clause, and the input checks both backends make before writing.
package sqlcommon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/knmproject/knm"
)

// Extra is the JSON column of a number: every field no query filters on. CarrierData is
// not in it, because encoding/json compacts raw messages and the carrier's bytes are
// kept exactly in a column of their own.
type Extra struct {
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

// EncodeExtra returns the JSON column of n.
func EncodeExtra(n *knm.Number) ([]byte, error) {
	b, err := json.Marshal(Extra{
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

// DecodeExtra fills n's fields from its JSON column.
func DecodeExtra(b []byte, n *knm.Number) error {
	var e Extra
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

// CheckNumber rejects a number the store must not hold: no E.164 string, an unknown
// state, or carrier data that is not JSON.
func CheckNumber(n *knm.Number) error {
	if n == nil || n.Number == "" {
		return knm.Errorf(knm.ErrInvalid, "number is empty")
	}
	if n.State != "" && !n.State.Valid() {
		return knm.Errorf(knm.ErrInvalid, "number %s: unknown state %q", n.Number, n.State)
	}
	if len(n.CarrierData) > 0 && !json.Valid(n.CarrierData) {
		return knm.Errorf(knm.ErrInvalid, "number %s: carrier data is not valid JSON", n.Number)
	}
	return nil
}

// CarrierData returns what to store for raw JSON: nil (SQL NULL) when there is none.
func CarrierData(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

// CheckConfig rejects a configuration document without an id or whose body is not a
// JSON object.
func CheckConfig(d *knm.ConfigDoc) error {
	if d == nil || d.ID == "" {
		return knm.Errorf(knm.ErrInvalid, "config document has no id")
	}
	body := bytes.TrimSpace(d.Body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return knm.Errorf(knm.ErrInvalid, "config document %s/%s: body is not a JSON object", d.Scope, d.ID)
	}
	return nil
}

// CheckJournal rejects a journal entry without an id or with a payload that is not JSON.
func CheckJournal(e *knm.JournalEntry) error {
	if e == nil || e.ID == "" {
		return knm.Errorf(knm.ErrInvalid, "journal entry has no id")
	}
	if len(e.Payload) > 0 && !json.Valid(e.Payload) {
		return knm.Errorf(knm.ErrInvalid, "journal entry %s: payload is not valid JSON", e.ID)
	}
	return nil
}

// Sec returns t in UTC at the second precision the stores keep, so what a caller holds
// after a write equals what it reads back.
func Sec(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

// PrefixUpperBound returns the smallest string greater than every string starting with
// prefix, so a prefix search is the bounded range [prefix, bound) that an index scans
// without reading past the prefix. ok is false when no such bound exists (an empty
// prefix, or one made only of 0xFF bytes).
func PrefixUpperBound(prefix string) (bound string, ok bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// Where builds a SQL WHERE clause. Placeholder renders the i-th (1-based) argument, so
// one builder serves SQLite's ? and PostgreSQL's $n.
type Where struct {
	Placeholder func(i int) string
	conds       []string
	Args        []any
}

// Arg adds an argument and returns its placeholder.
func (w *Where) Arg(v any) string {
	w.Args = append(w.Args, v)
	return w.Placeholder(len(w.Args))
}

// Add adds a condition.
func (w *Where) Add(cond string) { w.conds = append(w.conds, cond) }

// String returns " WHERE a AND b", or "" when there is no condition.
func (w *Where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// In returns "col IN (p1, p2, …)" for the values.
func (w *Where) In(col string, vals []string) string {
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = w.Arg(v)
	}
	return col + " IN (" + strings.Join(ps, ", ") + ")"
}

// NumberWhere returns the conditions of f on the numbers table; withPaging adds After
// (CountNumbers ignores it).
func NumberWhere(f knm.NumberFilter, placeholder func(int) string, withPaging bool) *Where {
	w := &Where{Placeholder: placeholder}
	if f.AssignedTo != nil {
		w.Add("assigned_to = " + w.Arg(*f.AssignedTo))
		if *f.AssignedTo != "" {
			// Lets the planner use the partial index on owned numbers, which imports of
			// unowned stock do not have to maintain.
			w.Add("assigned_to <> ''")
		}
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		if len(states) == 1 {
			w.Add("state = " + w.Arg(states[0]))
		} else {
			w.Add(w.In("state", states))
		}
	}
	if f.Module != "" {
		w.Add("module_name = " + w.Arg(f.Module))
	}
	if f.Prefix != "" {
		// Never LIKE and never an open range: Kazoo's prefix search scanned to the end
		// of the number database.
		w.Add("number >= " + w.Arg(f.Prefix))
		if bound, ok := PrefixUpperBound(f.Prefix); ok {
			w.Add("number < " + w.Arg(bound))
		}
	}
	if withPaging && f.After != "" {
		w.Add("number > " + w.Arg(f.After))
	}
	return w
}

// LimitOffset returns the LIMIT/OFFSET clause for a limit where 0 means none. Both SQLite
// and PostgreSQL accept LIMIT -1 / LIMIT ALL differently, so an offset without a limit
// uses a very large limit.
func LimitOffset(limit, offset int) string {
	switch {
	case limit > 0 && offset > 0:
		return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset)
	case limit > 0:
		return fmt.Sprintf(" LIMIT %d", limit)
	case offset > 0:
		return fmt.Sprintf(" LIMIT %d OFFSET %d", int64(1)<<62, offset)
	}
	return ""
}
