package kazoo

import (
	"context"
	"strings"

	"github.com/knmproject/knm"
)

// Kinds of difference a full sync finds.
const (
	// DiffMissing is a document knm's state calls for that CouchDB lacks.
	DiffMissing = "missing"
	// DiffDifferent is a document whose fields differ from knm's state.
	DiffDifferent = "different"
	// DiffStale is a number's copy in an account database whose account does not own it.
	DiffStale = "stale"
	// DiffUnknown is a phone_number document of a number knm does not have.
	DiffUnknown = "unknown"
)

// Difference is one document of Kazoo's CouchDB that does not match knm.
type Difference struct {
	DB     string   `json:"db"`
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Fields []string `json:"fields,omitempty"` // top-level keys that differ, for DiffDifferent
	Fixed  bool     `json:"fixed"`
}

// SyncReport is what a full sync found and did.
type SyncReport struct {
	Numbers     int          `json:"numbers"`   // knm numbers checked
	Documents   int          `json:"documents"` // CouchDB documents compared
	Differences []Difference `json:"differences"`
}

// SyncOptions control a full sync.
type SyncOptions struct {
	DryRun bool // report only, write nothing
	Prune  bool // also delete documents of numbers knm does not have (DiffUnknown)
}

// FullSync checks every document the projection is responsible for and, unless DryRun,
// rewrites what differs: each knm number's document in its number database, its copy in
// its owner's account database (where that database exists), and copies left in other
// accounts' databases. Documents of numbers knm does not have are reported and left alone
// unless Prune: they may be numbers Kazoo still routes that were never imported into knm.
func FullSync(ctx context.Context, s knm.Store, c *Couch, o SyncOptions) (*SyncReport, error) {
	fs := &fullSync{s: s, c: c, o: o, rep: &SyncReport{Differences: []Difference{}},
		known: map[string]string{}, owned: map[string]map[string]Doc{}, seenDBs: map[string]bool{}}
	if err := fs.numberDBs(ctx); err != nil {
		return nil, err
	}
	if err := fs.accountDBs(ctx); err != nil {
		return nil, err
	}
	if err := fs.otherNumberDBs(ctx); err != nil {
		return nil, err
	}
	return fs.rep, nil
}

type fullSync struct {
	s   knm.Store
	c   *Couch
	o   SyncOptions
	rep *SyncReport

	known   map[string]string         // every knm number -> its owner ("" when unowned)
	owned   map[string]map[string]Doc // owner -> number -> wanted document
	seenDBs map[string]bool           // number databases checked
}

// numberDBs walks knm's numbers in order; numbers of one number database are contiguous,
// so each database is read once.
func (fs *fullSync) numberDBs(ctx context.Context) error {
	var db string
	want := map[string]Doc{}
	after := ""
	for {
		ns, err := fs.s.FindNumbers(ctx, knm.NumberFilter{After: after, Limit: pageSize})
		if err != nil {
			return err
		}
		for _, n := range ns {
			ndb := NumberDB(n.Number)
			if ndb == "" {
				continue
			}
			if ndb != db {
				if err := fs.compareDB(ctx, db, want, true); err != nil {
					return err
				}
				db, want = ndb, map[string]Doc{}
			}
			d, err := NumberDoc(n)
			if err != nil {
				return err
			}
			want[n.Number] = d
			fs.known[n.Number] = n.AssignedTo
			if n.AssignedTo != "" {
				if fs.owned[n.AssignedTo] == nil {
					fs.owned[n.AssignedTo] = map[string]Doc{}
				}
				fs.owned[n.AssignedTo][n.Number] = d
			}
			fs.rep.Numbers++
		}
		if len(ns) < pageSize {
			return fs.compareDB(ctx, db, want, true)
		}
		after = ns[len(ns)-1].Number
	}
}

// accountDBs checks the databases of every knm account and every owner of a knm number.
func (fs *fullSync) accountDBs(ctx context.Context) error {
	accts, err := fs.s.FindAccounts(ctx, knm.AccountFilter{})
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, a := range accts {
		ids[a.ID] = true
	}
	for id := range fs.owned {
		ids[id] = true
	}
	for id := range ids {
		adb := AccountDB(id)
		if adb == "" {
			continue
		}
		ok, err := fs.c.dbExists(ctx, adb)
		if err != nil {
			return err
		}
		if !ok {
			continue // Kazoo keeps no copy for an account it has no database for
		}
		want := fs.owned[id]
		if want == nil {
			want = map[string]Doc{}
		}
		if err := fs.compareDB(ctx, adb, want, false); err != nil {
			return err
		}
	}
	return nil
}

// otherNumberDBs reports numbers in number databases that hold no knm number at all.
func (fs *fullSync) otherNumberDBs(ctx context.Context) error {
	dbs, err := fs.c.allDBs(ctx)
	if err != nil {
		return err
	}
	for _, db := range dbs {
		if strings.HasPrefix(db, "numbers/+") && !fs.seenDBs[db] {
			if err := fs.compareDB(ctx, db, map[string]Doc{}, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// compareDB compares the phone_number documents of one database with want, recording and
// (unless a dry run) fixing each difference.
func (fs *fullSync) compareDB(ctx context.Context, db string, want map[string]Doc, numberDB bool) error {
	if db == "" {
		return nil
	}
	if numberDB {
		fs.seenDBs[db] = true
	}
	have, err := fs.c.numberDocs(ctx, db)
	if err != nil {
		return err
	}
	fs.rep.Documents += len(have)
	for _, id := range sortedKeys(want) {
		d := Difference{DB: db, ID: id, Kind: DiffMissing}
		if h, ok := have[id]; ok {
			if d.Fields = diffDocs(want[id], h); len(d.Fields) == 0 {
				continue
			}
			d.Kind = DiffDifferent
		}
		if err := fs.fix(ctx, &d, docWrite{db: db, id: id, want: want[id], createDB: numberDB}); err != nil {
			return err
		}
	}
	for _, id := range sortedKeys(have) {
		if _, ok := want[id]; ok {
			continue
		}
		d := Difference{DB: db, ID: id, Kind: DiffUnknown}
		if _, ok := fs.known[id]; ok {
			d.Kind = DiffStale
		}
		if err := fs.fix(ctx, &d, docWrite{db: db, id: id}); err != nil {
			return err
		}
	}
	return nil
}

// fix records d and repairs it unless this is a dry run: a write for missing or different
// documents, a delete for stale ones and, with Prune, for unknown ones.
func (fs *fullSync) fix(ctx context.Context, d *Difference, w docWrite) error {
	defer func() { fs.rep.Differences = append(fs.rep.Differences, *d) }()
	if fs.o.DryRun || (d.Kind == DiffUnknown && !fs.o.Prune) {
		return nil
	}
	var err error
	if w.want != nil {
		_, err = fs.c.writeDoc(ctx, w)
	} else {
		_, err = fs.c.deleteDoc(ctx, w.db, w.id)
	}
	d.Fixed = err == nil
	return err
}
