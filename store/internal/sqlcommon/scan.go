package sqlcommon

import (
	"time"

	"github.com/knmproject/knm"
)

// The column lists the Scan functions read, in order. Both schemas name and order them
// alike; only the column types differ.
const (
	NumberColumns  = `number, rev, state, assigned_to, module_name, carrier_data, extra, created, modified`
	AccountColumns = `id, rev, name, parent_id, tree, reseller, reseller_id, superduper_admin,
	allow_number_additions, enabled, created, modified`
	JournalColumns   = `id, carrier, state, payload, rev, created, updated, owner, fence`
	InstanceColumns  = `id, host, pid, started, heartbeat, expires`
	ConfigColumns    = `scope, id, body, rev, modified`
	SearchRowColumns = `number, module, state, carrier_data`
)

// Scanner is one result row. database/sql's *Row and *Rows and pgx's Row and Rows all
// are one.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows is a result set: database/sql's *Rows or pgx's Rows. It leaves out Close, whose
// signature the two drivers do not share, so closing stays with the caller.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every remaining row of rows with scan; nil when there are none. It does
// not close rows.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// The Scan functions below read timestamps as T and return them as toTime(t): SQLite
// keeps Unix seconds (int64), PostgreSQL timestamptz (time.Time), and both stores return
// UTC.

// ScanNumber reads a row of NumberColumns.
func ScanNumber[T any](row Scanner, toTime func(T) time.Time) (*knm.Number, error) {
	var (
		n                 knm.Number
		state             string
		carrier, extra    []byte
		created, modified T
	)
	if err := row.Scan(&n.Number, &n.Rev, &state, &n.AssignedTo, &n.ModuleName, &carrier, &extra, &created,
		&modified); err != nil {
		return nil, err
	}
	n.State = knm.State(state)
	if len(carrier) > 0 {
		n.CarrierData = carrier
	}
	n.Created, n.Modified = toTime(created), toTime(modified)
	if err := decodeExtra(extra, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// ScanJournal reads a row of JournalColumns.
func ScanJournal[T any](row Scanner, toTime func(T) time.Time) (*knm.JournalEntry, error) {
	var (
		e                knm.JournalEntry
		payload          []byte
		created, updated T
	)
	if err := row.Scan(&e.ID, &e.Carrier, &e.State, &payload, &e.Rev, &created, &updated, &e.Owner,
		&e.Fence); err != nil {
		return nil, err
	}
	if len(payload) > 0 {
		e.Payload = payload
	}
	e.Created, e.Updated = toTime(created), toTime(updated)
	return &e, nil
}

// ScanConfig reads a row of ConfigColumns.
func ScanConfig[T any](row Scanner, toTime func(T) time.Time) (*knm.ConfigDoc, error) {
	var (
		d        knm.ConfigDoc
		body     []byte
		modified T
	)
	if err := row.Scan(&d.Scope, &d.ID, &body, &d.Rev, &modified); err != nil {
		return nil, err
	}
	d.Body, d.Modified = body, toTime(modified)
	return &d, nil
}

// ScanSearchRow reads a row of SearchRowColumns.
func ScanSearchRow(row Scanner) (knm.SearchRow, error) {
	var (
		r       knm.SearchRow
		state   string
		carrier []byte
	)
	if err := row.Scan(&r.Number, &r.Module, &state, &carrier); err != nil {
		return knm.SearchRow{}, err
	}
	r.State = knm.State(state)
	if len(carrier) > 0 {
		r.CarrierData = carrier
	}
	return r, nil
}

// ScanInstance reads a row of InstanceColumns.
func ScanInstance[T any](row Scanner, toTime func(T) time.Time) (*knm.Instance, error) {
	var (
		in                         knm.Instance
		started, heartbeat, expire T
	)
	if err := row.Scan(&in.ID, &in.Host, &in.PID, &started, &heartbeat, &expire); err != nil {
		return nil, err
	}
	in.Started, in.Heartbeat, in.Expires = toTime(started), toTime(heartbeat), toTime(expire)
	return &in, nil
}
