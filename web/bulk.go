package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// maxBulk bounds the numbers of one bulk change, as the API bounds a collection.
const maxBulk = 1000

// bulkItem is one number of a bulk change: what will happen (Effect) or, once done, what
// happened (State, or Err).
type bulkItem struct {
	Number string
	State  knm.State // now (review) or after (done)
	Effect string
	Err    string
}

// bulkView is the review and the result page of a bulk change.
type bulkView struct {
	Action      string
	AccountID   string
	AccountName string
	Items       []bulkItem
	Done        bool
	OK          int
}

// bulk reviews, then (with confirm=yes) applies, one action to the selected numbers. The
// review names what will happen to each number — a Voxbone release cancels the DID — and
// changes nothing; every change goes through the manager as the API's would.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	nums := r.PostForm["n"]
	action := r.PostFormValue("action")
	if len(nums) == 0 {
		return knm.Errorf(knm.ErrInvalid, "select at least one number first").WithCause("n")
	}
	if len(nums) > maxBulk {
		return knm.Errorf(knm.ErrInvalid, "select at most %d numbers at a time", maxBulk).WithCause("n")
	}
	v := bulkView{Action: action}
	switch action {
	case "activate", "reserve":
		acc, err := s.mgr.ScopedAccount(r.Context(), me, r.PostFormValue("account"))
		if err != nil {
			return err
		}
		v.AccountID, v.AccountName = acc.ID, acc.Name
	case "release":
	default:
		return knm.Errorf(knm.ErrInvalid, "action must be activate, reserve or release").WithCause("action")
	}
	v.Done = r.PostFormValue("confirm") == "yes"
	for _, n := range nums {
		var it bulkItem
		if v.Done {
			it = s.applyOne(r.Context(), me, action, n, v.AccountID)
			if it.Err == "" {
				v.OK++
			}
		} else {
			it = s.reviewOne(r.Context(), me, action, n, v.AccountName)
		}
		v.Items = append(v.Items, it)
	}
	title := "Review: " + action
	if v.Done {
		title = "Done: " + action
	}
	s.render(w, r, http.StatusOK, "bulk", view{Title: title, Nav: "numbers", Me: me, Data: v})
	return nil
}

// reviewOne says what action would do to number, changing nothing.
func (s *Server) reviewOne(ctx context.Context, me *knm.Account, action, number, accountName string) bulkItem {
	it := bulkItem{Number: number}
	if action == "release" {
		eff, err := s.mgr.ReleasePreview(ctx, me.ID, number)
		if err != nil {
			it.Err = errorText(err)
			return it
		}
		it.Number, it.State, it.Effect = eff.Number.Number, eff.Number.State, releaseEffectText(eff)
		return it
	}
	n, err := s.mgr.Get(ctx, me.ID, number)
	if err != nil {
		it.Err = errorText(err)
		return it
	}
	it.Number, it.State = n.Number, n.State
	if action == "activate" {
		it.Effect = "becomes in service for " + accountName
	} else {
		it.Effect = "becomes reserved for " + accountName
	}
	return it
}

// releaseEffectText names what a release does, for the confirmation.
func releaseEffectText(eff *manager.ReleaseEffect) string {
	module := eff.Number.ModuleName
	switch {
	case eff.CarrierTakesBack && module == "knm_voxbone":
		return "Voxbone cancels the DID (it stops being billed and cannot be had back), and the number is deleted from knm"
	case eff.CarrierTakesBack:
		return "the carrier " + knm.CarrierModuleShortName(
			module,
		) + " takes the number back for good, and it is deleted from knm"
	case eff.Deleted:
		return "the number is deleted from knm"
	case eff.AssignedTo != "":
		return "goes back, reserved, to account " + eff.AssignedTo + ", which reserved it before"
	}
	return "stays in knm, owned by nobody, " + strings.ReplaceAll(string(eff.State), "_", " ")
}

// applyOne applies action to number.
func (s *Server) applyOne(ctx context.Context, me *knm.Account, action, number, accountID string) bulkItem {
	it := bulkItem{Number: number}
	var n *knm.Number
	var err error
	switch action {
	case "activate":
		n, err = s.mgr.Activate(ctx, me.ID, number, accountID)
	case "reserve":
		n, err = s.mgr.Reserve(ctx, me.ID, number, accountID)
	case "release":
		n, err = s.mgr.Release(ctx, me.ID, number)
	}
	switch {
	case err != nil:
		it.Err = errorText(err)
	case n == nil:
		it.State, it.Effect = knm.StateDeleted, "deleted from knm"
	default:
		it.Number, it.State = n.Number, n.State
	}
	return it
}

// errorText is the message of an error for a table cell: a knm error's message and
// cause, anything else as an internal error.
func errorText(err error) string {
	errs, ferr := fieldError(err)
	if ferr != nil {
		return "internal error (see knm's log)"
	}
	return errs[""]
}
