package kazoo

import (
	"context"
	"encoding/json"
	"net/http"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/knmproject/knm"
)

// docsByKey reads the named documents of db in one request (_all_docs with keys); missing
// or deleted documents are absent from the result, and so is everything of a missing
// database.
func (c *Couch) docsByKey(ctx context.Context, db string, ids []string) (map[string]Doc, error) {
	out := map[string]Doc{}
	rows := c.client.DB(db).AllDocs(ctx, kivik.Params(map[string]any{"include_docs": true, "keys": ids}))
	for rows.Next() {
		var d Doc
		if rows.ScanDoc(&d) != nil || len(d) == 0 {
			continue // not_found rows, deleted documents
		}
		id, _ := rows.ID()
		out[id] = d
	}
	if err := rows.Err(); kivik.HTTPStatus(err) == http.StatusNotFound {
		return out, nil
	} else if err != nil {
		return nil, couchErr(err, "read", db, "")
	}
	return out, nil
}

// bulkWrite writes docs to db in one _bulk_docs request and returns the ids CouchDB did not
// take (a conflict, a rejection). A missing database is created when createDB is set;
// otherwise nothing is written and nothing is reported.
func (c *Couch) bulkWrite(ctx context.Context, db string, docs []Doc, createDB bool) ([]string, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	body := make([]any, len(docs))
	for i, d := range docs {
		body[i] = d
	}
	res, err := c.client.DB(db).BulkDocs(ctx, body)
	if kivik.HTTPStatus(err) == http.StatusNotFound {
		if !createDB {
			return nil, nil
		}
		if err := c.ensureDB(ctx, db); err != nil {
			return nil, err
		}
		res, err = c.client.DB(db).BulkDocs(ctx, body)
	}
	if err != nil {
		return nil, couchErr(err, "bulk write", db, "")
	}
	var failed []string
	for _, r := range res {
		if r.Error != nil {
			failed = append(failed, r.ID)
		}
	}
	return failed, nil
}

// target is what one number needs in one database: its wanted document, or its removal
// when want is nil.
type target struct {
	number string
	want   Doc
}

// projectBatch applies many numbers with a few requests per database instead of several
// per number: each database's current documents are read in one request and written in
// one _bulk_docs. Number databases are written before account databases, as Kazoo saves.
// A number whose bulk write CouchDB refused (a conflict with another writer) is applied
// again alone by Project, which re-reads and re-applies.
func (p *Projector) projectBatch(ctx context.Context, numbers []string, before map[string][]string) error {
	numberDBs := map[string][]target{}
	accountDBs := map[string][]target{}
	var dbOrder, acctOrder []string
	add := func(m map[string][]target, order *[]string, db string, t target) {
		if _, ok := m[db]; !ok {
			*order = append(*order, db)
		}
		m[db] = append(m[db], t)
	}
	current := map[string]*knm.Number{}
	for _, num := range numbers {
		db := NumberDB(num)
		if db == "" {
			continue
		}
		cur, err := p.o.Store.GetNumber(ctx, num)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		current[num] = cur
		t := target{number: num}
		if cur != nil {
			if t.want, err = NumberDoc(cur); err != nil {
				return err
			}
		}
		add(numberDBs, &dbOrder, db, t)
	}
	retry := map[string]bool{}
	for _, db := range dbOrder {
		have, err := p.applyDB(ctx, db, numberDBs[db], true, retry)
		if err != nil {
			return err
		}
		// Owners named by the documents found are where stale copies may be.
		for _, t := range numberDBs[db] {
			stale := append([]string(nil), before[t.number]...)
			for _, k := range []string{"pvt_assigned_to", "pvt_previously_assigned_to"} {
				var a string
				if json.Unmarshal(have[t.number][k], &a) == nil && a != "" {
					stale = append(stale, a)
				}
			}
			owner := ""
			if cur := current[t.number]; cur != nil {
				owner = cur.AssignedTo
				stale = append(stale, cur.PreviouslyAssignedTo)
				if adb := AccountDB(owner); adb != "" {
					add(accountDBs, &acctOrder, adb, t)
				}
			}
			seen := map[string]bool{AccountDB(owner): true}
			for _, a := range stale {
				if adb := AccountDB(a); adb != "" && !seen[adb] {
					seen[adb] = true
					add(accountDBs, &acctOrder, adb, target{number: t.number})
				}
			}
		}
	}
	for _, db := range acctOrder {
		if _, err := p.applyDB(ctx, db, accountDBs[db], false, retry); err != nil {
			return err
		}
	}
	for _, num := range numbers {
		if retry[num] {
			if err := p.Project(ctx, num, before[num]...); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyDB makes one database hold targets' documents (or not hold them), marking in retry
// the numbers CouchDB refused. It returns the documents found before writing.
func (p *Projector) applyDB(ctx context.Context, db string, targets []target, createDB bool,
	retry map[string]bool) (map[string]Doc, error) {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.number
	}
	have, err := p.o.Couch.docsByKey(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	var writes []Doc
	for _, t := range targets {
		h, exists := have[t.number]
		switch {
		case t.want == nil && exists:
			writes = append(writes, Doc{"_id": h["_id"], "_rev": h["_rev"], "_deleted": json.RawMessage("true")})
		case t.want != nil && (!exists || len(diffDocs(t.want, h)) > 0):
			d := make(Doc, len(t.want)+1)
			for k, v := range t.want {
				d[k] = v
			}
			d["_id"], _ = json.Marshal(t.number)
			if exists {
				d["_rev"] = h["_rev"]
			}
			writes = append(writes, d)
		}
	}
	failed, err := p.o.Couch.bulkWrite(ctx, db, writes, createDB)
	if err != nil {
		return nil, err
	}
	for _, id := range failed {
		retry[id] = true
	}
	return have, nil
}
