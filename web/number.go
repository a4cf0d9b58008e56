package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
)

// featureFields are the feature settings the detail page edits, per public field, in the
// order shown. Other keys of those objects are kept as they are.
var featureFields = []featureGroup{
	{"cnam", "Caller name (CNAM)", []featureKey{
		{"display_name", "Outbound caller name (1–15 characters)", false},
		{"inbound_lookup", "Look up the caller's name on inbound calls", true},
	}},
	{"failover", "Failover", []featureKey{
		{"e164", "Failover number (E.164)", false},
		{"sip", "Failover SIP URI", false},
	}},
	{"e911", "Emergency address (E911)", []featureKey{
		{"caller_name", "Caller name", false},
		{"street_address", "Street address", false},
		{"extended_address", "Apartment, suite…", false},
		{"locality", "City", false},
		{"region", "State or region", false},
		{"postal_code", "Postal code", false},
	}},
}

// featureGroup is one public feature object and the keys of it the page edits.
type featureGroup struct {
	Feature, Legend string
	Keys            []featureKey
}

type featureKey struct {
	Key, Label string
	Bool       bool
}

// numberView is the number detail's data.
type numberView struct {
	N        *knm.Number
	Features map[string]map[string]any // public feature objects, decoded
	Fields   []featureGroup
	Other    map[string]string // other public fields, as JSON
	Accounts []*knm.Account
	Names    map[string]string
	Errors   fieldErrors
	Form     map[string]string // values typed, shown again with errors
	Routing  string            // why the DID's routing is pending at Voxbone, "" when it is not
	Events   []*knm.Event      // the timeline, newest first
	Older    string            // the link to older events, "" when none
}

// timelineSize is how many events the number page shows at a time.
const timelineSize = 25

// numberDetail shows every field of a number the caller may read (manager.Get, so a
// number of another account is "not found" exactly as in the API).
func (s *Server) numberDetail(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	n, err := s.mgr.Get(r.Context(), me.ID, r.PathValue("number"))
	if knm.IsErrorName(err, knm.ErrForbidden) {
		return knm.NotFound(r.PathValue("number"))
	}
	if err != nil {
		return err
	}
	return s.renderNumber(w, r, me, n, http.StatusOK, nil, nil, r.URL.Query().Get("saved") == "1")
}

// timeline fills the number's event timeline: the events of the number the caller may
// see (manager.NumberEvents, the API's rule), from ?before= when paging back.
func (s *Server) timeline(r *http.Request, me *knm.Account, v *numberView) error {
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		var err error
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before < 1 {
			return knm.Errorf(knm.ErrInvalid, "before must be an event id (a whole number from 1)").WithCause("before")
		}
	}
	evs, older, err := s.mgr.NumberEvents(r.Context(), me.ID, v.N.Number, before, timelineSize)
	if err != nil {
		return err
	}
	v.Events = evs
	if older > 0 {
		v.Older = "/numbers/" + url.PathEscape(v.N.Number) + "?before=" + strconv.FormatInt(older, 10) + "#events-h"
	}
	return nil
}

func (s *Server) renderNumber(w http.ResponseWriter, r *http.Request, me *knm.Account, n *knm.Number, status int,
	errs fieldErrors, form map[string]string, saved bool) error {
	accs, err := s.mgr.ListAccounts(r.Context(), me.ID)
	if err != nil {
		return err
	}
	v := numberView{N: n, Features: map[string]map[string]any{}, Fields: featureFields, Other: map[string]string{},
		Accounts: accs, Names: accountNames(accs), Errors: errs, Form: form}
	for k, raw := range n.Public {
		var obj map[string]any
		if slices.ContainsFunc(featureFields, func(f featureGroup) bool { return f.Feature == k }) &&
			json.Unmarshal(raw, &obj) == nil {
			v.Features[k] = obj
			continue
		}
		v.Other[k] = string(raw)
	}
	if st, why := knmvoxbone.RoutingOf(n.CarrierData); st != "" {
		v.Routing = strings.TrimSpace(st + ": " + why)
	}
	if err := s.timeline(r, me, &v); err != nil {
		return err
	}
	notice := ""
	if saved {
		notice = "Features saved."
	}
	s.render(w, r, status, "number", view{Title: n.Number, Nav: "numbers", Me: me, Notice: notice, Data: v})
	return nil
}

// saveFeatures merges the feature form into the number's public fields, validated by
// the API's own rules (manager.CheckNumberPayload) and written by manager.Patch; an error
// is shown next to the field it names.
func (s *Server) saveFeatures(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	n, err := s.mgr.Get(r.Context(), me.ID, r.PathValue("number"))
	if knm.IsErrorName(err, knm.ErrForbidden) {
		return knm.NotFound(r.PathValue("number"))
	}
	if err != nil {
		return err
	}
	patch := map[string]json.RawMessage{}
	form := map[string]string{}
	var names []string
	for _, f := range featureFields {
		obj := map[string]any{}
		if raw, ok := n.Public[f.Feature]; ok {
			json.Unmarshal(raw, &obj)
		}
		for _, k := range f.Keys {
			name := f.Feature + "." + k.Key
			names = append(names, name)
			val := strings.TrimSpace(r.PostFormValue(name))
			form[name] = val
			switch {
			case k.Bool && val != "":
				obj[k.Key] = true
			case k.Bool, val == "":
				delete(obj, k.Key)
			default:
				obj[k.Key] = val
			}
		}
		raw := json.RawMessage("null")
		if len(obj) > 0 {
			raw, _ = json.Marshal(obj)
		}
		patch[f.Feature] = raw
	}
	names = append(names, slices.Collect(maps.Keys(patch))...)
	err = manager.CheckNumberPayload(patch, manager.PayloadPatch)
	if err == nil {
		_, err = s.mgr.Patch(r.Context(), me.ID, n.Number, patch)
	}
	if err != nil {
		errs, ferr := fieldError(err, names...)
		if ferr != nil {
			return ferr
		}
		return s.renderNumber(w, r, me, n, http.StatusBadRequest, errs, form, false)
	}
	http.Redirect(w, r, "/numbers/"+n.Number+"?saved=1", http.StatusSeeOther)
	return nil
}

// Owner names an account for the timeline: its name when the caller can see it, else the
// start of its id; "nobody" for none.
func (v numberView) Owner(id string) string {
	switch {
	case id == "":
		return "nobody"
	case v.Names[id] != "":
		return v.Names[id]
	}
	return id[:min(len(id), 8)]
}

// Value is the value of a feature key for the form: as typed when the form is shown again
// with errors, else as stored.
func (v numberView) Value(feature, key string) string {
	if v.Form != nil {
		return v.Form[feature+"."+key]
	}
	switch x := v.Features[feature][key].(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "on"
		}
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
