package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
)

// consoleJournal is the journal "carrier" of the console's own rows (purchases it runs,
// the last reconcile): in the shared store, so every instance sees them.
const consoleJournal = "web"

// reconcileRowID is the journal row holding the last reconcile run from the console.
const reconcileRowID = "web-reconcile-last"

// reconcileRecord is a reconcile's report and when it ran.
type reconcileRecord struct {
	At       time.Time                   `json:"at"`
	By       string                      `json:"by"`
	Imported bool                        `json:"imported"` // run with import
	Report   *knmvoxbone.ReconcileReport `json:"report"`
	Err      string                      `json:"error,omitempty"`
}

// lastReconcile returns the last reconcile run from the console, or nil.
func (s *Server) lastReconcile(ctx context.Context) (*reconcileRecord, error) {
	e, err := s.store.GetJournal(ctx, reconcileRowID)
	if knm.IsErrorName(err, knm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec reconcileRecord
	if err := json.Unmarshal(e.Payload, &rec); err != nil || rec.Report == nil {
		return nil, err
	}
	return &rec, nil
}

// saveReconcile records rec as the last reconcile, whoever wrote last winning.
func (s *Server) saveReconcile(ctx context.Context, rec *reconcileRecord) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	for range 5 {
		cur, err := s.store.GetJournal(ctx, reconcileRowID)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			err = s.store.CreateJournal(ctx, &knm.JournalEntry{ID: reconcileRowID, Carrier: consoleJournal,
				State: "done", Payload: raw, Created: rec.At, Updated: rec.At})
		} else if err == nil {
			cur.Payload, cur.Updated = raw, rec.At
			err = s.store.UpdateJournal(ctx, cur)
		}
		if !knm.IsErrorName(err, knm.ErrConflict) {
			return err
		}
	}
	return knm.Conflict("reconcile record")
}

// reconcileView is the reconcile page's data.
type reconcileView struct {
	Last *reconcileRecord
}

// reconcile shows the last reconcile (master only: it reads the whole Voxbone account).
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if err := s.masterVoxbone(me); err != nil {
		return err
	}
	last, err := s.lastReconcile(r.Context())
	if err != nil {
		return err
	}
	s.render(
		w,
		r,
		http.StatusOK,
		"reconcile",
		view{Title: "Reconcile", Nav: "reconcile", Me: me, Data: reconcileView{Last: last}},
	)
	return nil
}

// runReconcile compares the Voxbone account with knm, and with import=yes stores the DIDs
// knm lacks (available, unassigned), as `knm voxbone reconcile --import` does.
func (s *Server) runReconcile(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if err := s.masterVoxbone(me); err != nil {
		return err
	}
	importMissing := r.PostFormValue("import") == "yes"
	rep, err := s.vox.Reconcile(r.Context(), importMissing)
	rec := &reconcileRecord{At: s.now().UTC(), By: me.ID, Imported: importMissing, Report: rep}
	if err != nil {
		if rep == nil {
			return err
		}
		rec.Err = errorText(err)
	}
	if err := s.saveReconcile(r.Context(), rec); err != nil {
		return err
	}
	http.Redirect(w, r, "/reconcile", http.StatusSeeOther)
	return nil
}

// masterVoxbone refuses anyone but the master, and says when Voxbone is not there.
func (s *Server) masterVoxbone(me *knm.Account) error {
	if !me.SuperduperAdmin {
		return knm.Forbidden("master account only")
	}
	if s.vox == nil {
		return knm.Errorf(knm.ErrNotFound, "Voxbone is not configured on this knm")
	}
	return nil
}
