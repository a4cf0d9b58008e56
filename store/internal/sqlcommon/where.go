package sqlcommon

import (
	"fmt"
	"strings"

	"github.com/knmproject/knm"
)

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

// where builds a SQL WHERE clause. placeholder renders the i-th (1-based) argument, so
// one builder serves SQLite's ? and PostgreSQL's $n.
type where struct {
	placeholder func(i int) string
	conds       []string
	args        []any
}

// Arg adds an argument and returns its placeholder.
func (w *where) Arg(v any) string {
	w.args = append(w.args, v)
	return w.placeholder(len(w.args))
}

// Add adds a condition.
func (w *where) Add(cond string) { w.conds = append(w.conds, cond) }

// String returns " WHERE a AND b", or "" when there is no condition.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// In returns "col IN (p1, p2, …)" for the values.
func (w *where) In(col string, vals []string) string {
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = w.Arg(v)
	}
	return col + " IN (" + strings.Join(ps, ", ") + ")"
}

// numberWhere returns the conditions of f on the numbers table; withPaging adds After
// (CountNumbers ignores it).
func numberWhere(f knm.NumberFilter, placeholder func(int) string, withPaging bool) *where {
	w := &where{placeholder: placeholder}
	if f.AssignedTo != nil {
		w.Add("assigned_to = " + w.Arg(*f.AssignedTo))
		if *f.AssignedTo != "" {
			// Lets the planner use the partial index on owned numbers, which imports of
			// unowned stock do not have to maintain.
			w.Add("assigned_to <> ''")
		}
	}
	if len(f.AssignedToAny) > 0 {
		w.Add(w.In("assigned_to", f.AssignedToAny))
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
	if withPaging && f.Before != "" {
		w.Add("number < " + w.Arg(f.Before))
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

// FindNumbersQuery returns the SELECT of FindNumbers for f, ordered by number, and its
// arguments, with placeholders rendered by placeholder.
func FindNumbersQuery(f knm.NumberFilter, placeholder func(int) string) (string, []any) {
	w := numberWhere(f, placeholder, true)
	cols := NumberColumns
	if f.KeysOnly {
		cols = NumberKeyColumns
	}
	order := ` ORDER BY number`
	if f.Descending {
		order += ` DESC`
	}
	return `SELECT ` + cols + ` FROM numbers` + w.String() + order + LimitOffset(f.Limit, f.Offset), w.args
}

// NumberKeyColumns are the columns of a KeysOnly FindNumbers (see ScanNumberKeys): all
// in the (state, number, module_name) index, so a search scans that index alone.
const NumberKeyColumns = `number, state, module_name`

// ScanNumberKeys reads a row of NumberKeyColumns.
func ScanNumberKeys(row Scanner) (*knm.Number, error) {
	var n knm.Number
	var state string
	if err := row.Scan(&n.Number, &state, &n.ModuleName); err != nil {
		return nil, err
	}
	n.State = knm.State(state)
	return &n, nil
}

// CountNumbersQuery returns the SELECT of CountNumbers for f, which ignores After,
// Offset and Limit, and its arguments.
func CountNumbersQuery(f knm.NumberFilter, placeholder func(int) string) (string, []any) {
	w := numberWhere(f, placeholder, false)
	return `SELECT count(*) FROM numbers` + w.String(), w.args
}

// FindJournalsQuery returns the SELECT of FindJournals for f, ordered by creation time,
// then id, and its arguments.
func FindJournalsQuery(f knm.JournalFilter, placeholder func(int) string) (string, []any) {
	w := &where{placeholder: placeholder}
	if f.Carrier != "" {
		w.Add("carrier = " + w.Arg(f.Carrier))
	}
	if len(f.States) > 0 {
		w.Add(w.In("state", f.States))
	}
	return `SELECT ` + JournalColumns + ` FROM journals` + w.String() + ` ORDER BY created, id` +
		LimitOffset(f.Limit, f.Offset), w.args
}

// FindAccountsQuery returns the SELECT of FindAccounts for f, ordered by id, and its
// arguments. The backends store an account's ancestors differently, so ancestor returns
// the condition "the tree holds the value of parameter p".
func FindAccountsQuery(f knm.AccountFilter, placeholder func(int) string,
	ancestor func(p string) string) (string, []any) {
	w := &where{placeholder: placeholder}
	if f.ParentID != nil {
		w.Add("parent_id = " + w.Arg(*f.ParentID))
	}
	if f.Ancestor != "" {
		w.Add(ancestor(w.Arg(f.Ancestor)))
	}
	if f.APIKeyHash != "" {
		w.Add("api_key_hash = " + w.Arg(f.APIKeyHash))
	}
	return `SELECT ` + AccountColumns + ` FROM accounts` + w.String() + ` ORDER BY id` +
		LimitOffset(f.Limit, f.Offset), w.args
}
