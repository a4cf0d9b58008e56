package kazoo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/knmproject/knm"
)

// AccountReport counts what an import of Kazoo's accounts did.
type AccountReport struct {
	Created   int      `json:"created"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Disabled  int      `json:"disabled"` // removed from Kazoo: disabled in knm, never deleted
	Skipped   []string `json:"skipped"`  // documents that are not importable accounts, with the reason
	LastSeq   string   `json:"last_seq"` // where the accounts database's _changes feed was read up to
}

// kazooAccount is the part of a document of Kazoo's accounts database that knm keeps.
type kazooAccount struct {
	ID         string   `json:"_id"`
	Deleted    bool     `json:"_deleted"`
	Type       string   `json:"pvt_type"`
	Name       string   `json:"name"`
	Tree       []string `json:"pvt_tree"`
	Reseller   bool     `json:"pvt_reseller"`
	Superduper bool     `json:"pvt_superduper_admin"`
	Enabled    *bool    `json:"pvt_enabled"` // absent means enabled (kzd_accounts:is_enabled)
	Additions  bool     `json:"pvt_wnm_allow_additions"`
	SoftDelete bool     `json:"pvt_deleted"`
	Created    float64  `json:"pvt_created"`

	unreadable string // why the document could not be decoded
}

// AccountImporter creates and updates knm accounts from Kazoo's accounts database, keeping
// Kazoo's ids so that numbers assigned in knm carry the ids Kazoo routes by.
type AccountImporter struct {
	Store  knm.AccountStore
	Couch  *Couch
	Logger *slog.Logger
}

// Import reads the accounts database's _changes feed from the start and applies every
// account in it. A deleted account (a tombstone in the feed, or pvt_deleted) is disabled in
// knm, never deleted, so its numbers stay. Accounts knm made itself are not touched. Running
// it again changes nothing.
func (im *AccountImporter) Import(ctx context.Context) (*AccountReport, error) {
	rep := &AccountReport{Skipped: []string{}}
	batch := map[string]*kazooAccount{}
	var order []string
	since := "0"
	for {
		docs, last, err := im.changes(ctx, since, kivik.Params(map[string]any{"limit": pageSize}))
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if _, ok := batch[d.ID]; !ok {
				order = append(order, d.ID)
			}
			batch[d.ID] = d
		}
		if len(docs) == 0 || last == since {
			break
		}
		since = last
	}
	rep.LastSeq = since
	for _, id := range order {
		if err := im.apply(ctx, batch[id], batch, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// Follow applies the accounts database's changes after since as they happen, until ctx
// ends, calling report after each round that changed something. Each long poll of the
// _changes feed lasts at most poll (default 5 s; keep it under the client's request
// timeout). CouchDB being unreachable is retried with a growing wait (at most maxBackoff,
// default 30 s), not returned.
func (im *AccountImporter) Follow(ctx context.Context, since string, poll time.Duration, maxBackoff time.Duration,
	report func(*AccountReport)) error {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	if maxBackoff <= 0 {
		maxBackoff = 30 * time.Second
	}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		docs, last, err := im.changes(ctx, since, kivik.Params(map[string]any{
			"feed": "longpoll", "timeout": poll.Milliseconds(), "limit": pageSize}))
		if err == nil {
			rep := &AccountReport{Skipped: []string{}}
			for _, d := range docs {
				if err = im.apply(ctx, d, nil, rep); err != nil {
					break
				}
			}
			if err == nil {
				backoff, since, rep.LastSeq = 0, last, last
				if len(docs) > 0 && report != nil {
					report(rep)
				}
				continue
			}
		}
		if ctx.Err() != nil {
			break
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
		im.logger().Warn("kazoo accounts: retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
	return nil
}

func (im *AccountImporter) logger() *slog.Logger {
	if im.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return im.Logger
}

// changes reads one page of the accounts database's _changes feed with the documents.
func (im *AccountImporter) changes(ctx context.Context, since string, extra kivik.Option) ([]*kazooAccount,
	string, error) {
	ch := im.Couch.client.DB(AccountsDB).Changes(ctx, kivik.Params(map[string]any{
		"since": since, "include_docs": true}), extra)
	defer ch.Close()
	var docs []*kazooAccount
	for ch.Next() {
		d := &kazooAccount{}
		if err := ch.ScanDoc(d); err != nil {
			d = &kazooAccount{ID: ch.ID(), unreadable: err.Error()}
		}
		if d.ID == "" {
			d.ID = ch.ID()
		}
		d.Deleted = d.Deleted || ch.Deleted()
		docs = append(docs, d)
	}
	if err := ch.Err(); err != nil {
		return nil, "", couchErr(err, "read changes of", AccountsDB, "")
	}
	meta, err := ch.Metadata()
	if err != nil {
		return nil, "", couchErr(err, "read changes of", AccountsDB, "")
	}
	return docs, meta.LastSeq, nil
}

// apply creates, updates or disables the knm account of one Kazoo document. batch holds
// the documents read with it, which settle reseller ids before they are stored.
func (im *AccountImporter) apply(ctx context.Context, d *kazooAccount, batch map[string]*kazooAccount,
	rep *AccountReport) error {
	if strings.HasPrefix(d.ID, "_design/") || (!d.Deleted && d.Type != "" && d.Type != "account") {
		return nil
	}
	if !knm.ValidAccountID(d.ID) {
		rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: not a 32-hex account id", d.ID))
		return nil
	}
	if d.unreadable != "" {
		rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: unreadable account document: %s", d.ID, d.unreadable))
		return nil
	}
	for range maxWriteAttempts {
		cur, err := im.Store.GetAccount(ctx, d.ID)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		if d.Deleted || d.SoftDelete {
			if cur == nil || !cur.Enabled {
				rep.Unchanged++
				return nil
			}
			cur.Enabled = false
			err = im.Store.UpdateAccount(ctx, cur)
			if err == nil {
				rep.Disabled++
			}
		} else {
			err = im.upsert(ctx, cur, d, batch, rep)
		}
		if !knm.IsErrorName(err, knm.ErrConflict) {
			return err
		}
	}
	return knm.Conflict("account " + d.ID)
}

// upsert writes the account d describes over cur (nil when knm lacks it).
func (im *AccountImporter) upsert(ctx context.Context, cur *knm.Account, d *kazooAccount,
	batch map[string]*kazooAccount, rep *AccountReport) error {
	a := &knm.Account{ID: d.ID, Name: d.Name, Reseller: d.Reseller, SuperduperAdmin: d.Superduper,
		AllowNumberAdditions: d.Additions, Enabled: d.Enabled == nil || *d.Enabled}
	for _, id := range d.Tree {
		if knm.ValidAccountID(id) && id != d.ID {
			a.Tree = append(a.Tree, id)
		}
	}
	if len(a.Tree) > 0 {
		a.ParentID = a.Tree[len(a.Tree)-1]
	}
	resellerID, err := im.resellerOf(ctx, a, batch)
	if err != nil {
		return err
	}
	a.ResellerID = resellerID
	if cur == nil {
		a.Created = knm.FromGregorian(int64(d.Created))
		if err := im.Store.CreateAccount(ctx, a); err != nil {
			return err
		}
		rep.Created++
		return nil
	}
	if cur.Name == a.Name && cur.ParentID == a.ParentID && slices.Equal(cur.Tree, a.Tree) &&
		cur.Reseller == a.Reseller && cur.ResellerID == a.ResellerID && cur.SuperduperAdmin == a.SuperduperAdmin &&
		cur.AllowNumberAdditions == a.AllowNumberAdditions && cur.Enabled == a.Enabled {
		rep.Unchanged++
		return nil
	}
	a.Rev, a.Created = cur.Rev, cur.Created
	if err := im.Store.UpdateAccount(ctx, a); err != nil {
		return err
	}
	rep.Updated++
	return nil
}

// resellerOf returns the reseller of a: itself when it is one, else the nearest ancestor
// that is a reseller or a superduper admin (Kazoo's kz_services_reseller:find_id), looked
// up among the documents being imported, then in knm; "" when there is none.
func (im *AccountImporter) resellerOf(ctx context.Context, a *knm.Account, batch map[string]*kazooAccount) (string,
	error) {
	if a.Reseller {
		return a.ID, nil
	}
	for i := len(a.Tree) - 1; i >= 0; i-- {
		id := a.Tree[i]
		if d, ok := batch[id]; ok && !d.Deleted {
			if d.Reseller || d.Superduper {
				return id, nil
			}
			continue
		}
		anc, err := im.Store.GetAccount(ctx, id)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if anc.Reseller || anc.SuperduperAdmin {
			return id, nil
		}
	}
	return "", nil
}
