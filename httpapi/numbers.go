package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/features"
	"github.com/knmproject/knm/manager"
)

// numberJSON renders n for the caller of r: publicNumber with the features n may use as
// the caller sees them.
func (s *Server) numberJSON(r *http.Request, n *knm.Number) (map[string]any, error) {
	ro, err := s.mgr.ReadOnlyFeatures(r.Context(), caller(r).ID, n)
	if err != nil {
		return nil, err
	}
	return publicNumber(n, ro), nil
}

// writeNumber answers with n rendered by numberJSON.
func (s *Server) writeNumber(w http.ResponseWriter, r *http.Request, status int, n *knm.Number) error {
	out, err := s.numberJSON(r, n)
	if err != nil {
		return err
	}
	s.writeData(w, r, status, out)
	return nil
}

// publicNumber is Kazoo's knm_phone_number:to_public_json (kazoo-knm §3.2, 4.3 shape): the
// public fields, id, state, used_by, the sorted feature names and _read_only, whose
// features object is ro (what the number may use, Kazoo's available_features).
func publicNumber(n *knm.Number, ro features.ReadOnly) map[string]any {
	out := make(map[string]any, len(n.Public)+5)
	for k, v := range n.Public {
		out[k] = v
	}
	if ro.Available == nil {
		ro.Available = []string{}
	}
	if ro.Settings == nil {
		ro.Settings = map[string]json.RawMessage{}
	}
	out["id"] = n.Number
	out["state"] = n.State
	out["features"] = n.FeatureNames()
	if n.UsedBy != "" {
		out["used_by"] = n.UsedBy
	}
	readOnly := map[string]any{
		"created":        knm.ToGregorian(n.Created),
		"modified":       knm.ToGregorian(n.Modified),
		"state":          n.State,
		"features":       ro,
		"carrier_module": knm.CarrierModuleShortName(n.ModuleName),
	}
	if n.UsedBy != "" {
		readOnly["used_by"] = n.UsedBy
	}
	if state, why := routingNote(n.CarrierData); state != "" {
		readOnly["routing"], readOnly["routing_error"] = state, why
	}
	out["_read_only"] = readOnly
	return out
}

// deletedNumber is the reply for a number that no longer exists after a release or a
// hard delete: Kazoo answers with the number in state deleted.
func deletedNumber(num string) map[string]any {
	return map[string]any{
		"id": num, "state": knm.StateDeleted, "features": []string{},
		"_read_only": map[string]any{"state": knm.StateDeleted},
	}
}

// listingEntry is one number of the account listing (Kazoo's crossbar_listing view), with
// available the features the number may use.
func listingEntry(n *knm.Number, available []string) map[string]any {
	if available == nil {
		available = []string{}
	}
	e := map[string]any{
		"state":              n.State,
		"features":           n.FeatureNames(),
		"features_available": available,
		"created":            knm.ToGregorian(n.Created),
		"updated":            knm.ToGregorian(n.Modified),
	}
	if n.AssignedTo != "" {
		e["assigned_to"] = n.AssignedTo
	}
	if n.UsedBy != "" {
		e["used_by"] = n.UsedBy
	}
	return e
}

// pathNumber returns the {number} of the path after a syntax check, so "abc" is 400
// invalid; a well-formed number that does not reconcile is left to the manager (Kazoo's
// 404 not_reconcilable).
func pathNumber(r *http.Request) (string, error) {
	return checkNumberInput(r.PathValue("number"), "number")
}

func checkNumberInput(s, field string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > 32 {
		return "", knm.Errorf(knm.ErrInvalid, "%s must be a phone number of at most 32 characters",
			field).WithCause(field)
	}
	digits := 0
	for i, c := range t {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0, c == ' ', c == '-', c == '(', c == ')', c == '.':
		default:
			return "", knm.Errorf(knm.ErrInvalid, "%s %q is not a phone number", field, s).WithCause(field)
		}
	}
	if digits == 0 {
		return "", knm.Errorf(knm.ErrInvalid, "%s %q is not a phone number", field, s).WithCause(field)
	}
	return t, nil
}

// normalizer returns the manager's E.164 normaliser (number_manager's converters, cached
// by the manager's settings), so the API sees numbers exactly as the manager does.
func (s *Server) normalizer(context.Context) (func(string) string, error) {
	return s.mgr.Normalize, nil
}

// e164 is num in E.164 when the configured normaliser makes it so, else num as given
// (trimmed): the number an error about num names.
func (s *Server) e164(_ context.Context, num string) string {
	num = strings.TrimSpace(num)
	if e := s.mgr.Normalize(num); knm.IsE164(e) {
		return e
	}
	return num
}

// maxQueryInt bounds the listing's offset, as manager.ParseSearch bounds a search's.
const maxQueryInt = 1_000_000

// maxPageSize is the largest page_size of the account listing. Kazoo's crossbar does not
// clamp page_size, so a larger value is refused (400) rather than silently shortened: a
// client that asked for more than it got would take the page for the whole listing.
const maxPageSize = 1000

// intParam parses an integer query parameter from min to max.
func intParam(q url.Values, name string, def, min, max int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, knm.Errorf(knm.ErrInvalid, "%s must be an integer from %d to %d", name, min, max).WithCause(name)
	}
	return n, nil
}

// accountNumbers is GET /v2/accounts/{A}/phone_numbers: with prefix a search as A, without
// it the listing of A's numbers in Kazoo's shape.
func (s *Server) accountNumbers(w http.ResponseWriter, r *http.Request) error {
	acc, err := s.scopedAccount(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Has("prefix") {
		req, err := searchParams(q)
		if err != nil {
			return err
		}
		req.AccountID, req.ResellerID, req.AuthToken = acc.ID, manager.ResellerOf(acc), authOf(r).token
		if q.Has("blocks") {
			return s.searchBlocks(w, r, req, q)
		}
		return s.search(w, r, req)
	}
	lq, err := listingParams(q)
	if err != nil {
		return err
	}
	l, err := s.mgr.ListAccount(r.Context(), caller(r).ID, acc.ID, lq)
	if err != nil {
		return err
	}
	numbers := make(map[string]any, len(l.Numbers))
	view := s.mgr.FeaturesView(r.Context(), caller(r).ID)
	for _, n := range l.Numbers {
		available, err := view.Available(r.Context(), n)
		if err != nil {
			return err
		}
		numbers[n.Number] = listingEntry(n, available)
	}
	e := s.baseEnvelope(r, "success")
	e.Data = map[string]any{"numbers": numbers, "cascade_quantity": l.CascadeQuantity}
	size := len(l.Numbers)
	e.PageSize = &size
	e.StartKey, e.NextStartKey = lq.Page.After, l.Next
	writeJSON(w, http.StatusOK, e)
	return nil
}

// listingParams reads the listing's query as crossbar does: filter_state (a state or a
// JSON list of states), filter_assigned_to, cascade, start_key and page_size.
func listingParams(q url.Values) (manager.ListingQuery, error) {
	var lq manager.ListingQuery
	if off := q.Get("offset"); off != "" && off != "0" {
		return lq, knm.Errorf(knm.ErrInvalid, "offset pages searches; a listing pages with start_key "+
			"(the next_start_key of the previous page)").WithCause("offset")
	}
	for k := range q {
		if strings.HasPrefix(k, "filter_") && k != "filter_state" && k != "filter_assigned_to" {
			// Ignoring it would answer more numbers than asked for, silently.
			return lq, knm.Errorf(knm.ErrInvalid, "%s is not a filter knm supports (filter_state, "+
				"filter_assigned_to)", k).WithCause(k)
		}
	}
	states, err := filterValues(q, "filter_state")
	if err != nil {
		return lq, err
	}
	for _, st := range states {
		state, err := knm.ParseState(st)
		if err != nil {
			return lq, knm.Errorf(knm.ErrInvalid, "filter_state: %v", err).WithCause("filter_state")
		}
		lq.States = append(lq.States, state)
	}
	owners, err := filterValues(q, "filter_assigned_to")
	switch {
	case err != nil:
		return lq, err
	case len(owners) > 1 || len(owners) == 1 && !knm.ValidAccountID(owners[0]):
		return lq, knm.Errorf(knm.ErrInvalid, "filter_assigned_to must be one account id").WithCause("filter_assigned_to")
	case len(owners) == 1:
		lq.AssignedTo = owners[0]
	}
	switch v := q.Get("cascade"); v {
	case "", "false":
	case "true":
		lq.Cascade = true
	default:
		return lq, knm.Errorf(knm.ErrInvalid, "cascade must be true or false").WithCause("cascade")
	}
	if start := q.Get("start_key"); start != "" {
		if !knm.IsE164(start) {
			return lq, knm.Errorf(knm.ErrInvalid, "start_key must be a next_start_key of this listing").WithCause("start_key")
		}
		lq.Page.After = start
	}
	lq.Page.Sort = knm.SortByNumber
	lq.Page.Limit, err = intParam(q, "page_size", maxPageSize, 1, maxPageSize)
	return lq, err
}

// filterValues reads a crossbar filter_* parameter: a value, or a JSON list of values
// (Monster UI sends filter_state=["in_service","port_in"]); nil when absent.
func filterValues(q url.Values, name string) ([]string, error) {
	v := strings.TrimSpace(q.Get(name))
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "["):
		var vs []string
		if err := json.Unmarshal([]byte(v), &vs); err != nil || len(vs) == 0 {
			return nil, knm.Errorf(knm.ErrInvalid, "%s must be a value or a non-empty JSON list of strings",
				name).WithCause(name)
		}
		return vs, nil
	case strings.HasPrefix(v, `"`):
		var s string
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return nil, knm.Errorf(knm.ErrInvalid, "%s must be a value or a JSON list of strings", name).WithCause(name)
		}
		return []string{s}, nil
	}
	return []string{v}, nil
}

// numberRoute runs the common part of the single-number routes: the account scope and the
// number's syntax.
func (s *Server) numberRoute(r *http.Request) (*knm.Account, string, error) {
	acc, err := s.scopedAccount(r)
	if err != nil {
		return nil, "", err
	}
	num, err := pathNumber(r)
	return acc, num, err
}

func (s *Server) getNumber(w http.ResponseWriter, r *http.Request) error {
	_, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	n, err := s.mgr.Get(r.Context(), caller(r).ID, num)
	if knm.IsErrorName(err, knm.ErrForbidden) {
		// Kazoo answers a number the caller may not read exactly as a missing one (kazoo-knm
		// §6.3), so numbers held by other accounts cannot be probed.
		return knm.NotFound(s.e164(r.Context(), num))
	}
	if err != nil {
		return err
	}
	return s.writeNumber(w, r, http.StatusOK, n)
}

// createFields splits a create payload, already checked by manager.CheckNumberPayload, into the
// options Kazoo reads from it (create_with_state, ported_in) and the public fields.
func createFields(data map[string]json.RawMessage) (manager.CreateOptions, error) {
	var o manager.CreateOptions
	if err := manager.CheckNumberPayload(data, manager.PayloadCreate); err != nil {
		return o, err
	}
	if raw, ok := data["create_with_state"]; ok {
		var st string
		json.Unmarshal(raw, &st)
		o.State = knm.State(st)
	}
	if raw, ok := data["ported_in"]; ok {
		json.Unmarshal(raw, &o.PortedIn)
	}
	o.Public = publicFields(data)
	delete(o.Public, "create_with_state")
	delete(o.Public, "ported_in")
	delete(o.Public, "numbers")
	return o, nil
}

// publicFields keeps the keys a client may set: not id, used_by, _read_only, nor any _ or
// pvt_ key (Kazoo's sanitize_public_fields).
func publicFields(data map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(data))
	for k, v := range data {
		if k == "id" || k == "used_by" || strings.HasPrefix(k, "_") || strings.HasPrefix(k, "pvt_") {
			continue
		}
		out[k] = v
	}
	return out
}

func (s *Server) createNumber(w http.ResponseWriter, r *http.Request) error {
	acc, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	var data map[string]json.RawMessage
	if err := decodeOptionalBody(r, &data); err != nil {
		return err
	}
	if data == nil {
		data = map[string]json.RawMessage{} // Kazoo: the payload of a create is optional
	}
	o, err := createFields(data)
	if err != nil {
		return err
	}
	o.AssignTo = acc.ID
	n, err := s.mgr.Create(r.Context(), caller(r).ID, num, o)
	if err != nil {
		return err
	}
	return s.writeNumber(w, r, http.StatusCreated, n)
}

func (s *Server) updateNumber(w http.ResponseWriter, r *http.Request) error {
	return s.editNumber(w, r, manager.PayloadReplace, s.mgr.Update)
}

func (s *Server) patchNumber(w http.ResponseWriter, r *http.Request) error {
	return s.editNumber(w, r, manager.PayloadPatch, s.mgr.Patch)
}

func (s *Server) editNumber(w http.ResponseWriter, r *http.Request, kind manager.PayloadKind,
	edit func(ctx context.Context, auth, number string, public map[string]json.RawMessage) (*knm.Number, error)) error {
	_, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	var data map[string]json.RawMessage
	if err := decodeBody(r, &data); err != nil {
		return err
	}
	if err := manager.CheckNumberPayload(data, kind); err != nil {
		return err
	}
	n, err := edit(r.Context(), caller(r).ID, num, publicFields(data))
	if err != nil {
		return err
	}
	return s.writeNumber(w, r, http.StatusOK, n)
}

func (s *Server) deleteNumber(w http.ResponseWriter, r *http.Request) error {
	_, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	hard := false
	switch v := r.URL.Query().Get("hard"); v {
	case "", "false":
	case "true":
		hard = true
	default:
		return knm.Errorf(knm.ErrInvalid, "hard must be true or false").WithCause("hard")
	}
	if hard {
		if err := s.mgr.Delete(r.Context(), caller(r).ID, num); err != nil {
			return err
		}
		s.writeData(w, r, http.StatusOK, deletedNumber(num))
		return nil
	}
	n, err := s.mgr.Release(r.Context(), caller(r).ID, num)
	if err != nil {
		return err
	}
	if n == nil {
		s.writeData(w, r, http.StatusOK, deletedNumber(num))
		return nil
	}
	return s.writeNumber(w, r, http.StatusOK, n)
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	return s.move(w, r, knm.StateInService)
}

func (s *Server) reserve(w http.ResponseWriter, r *http.Request) error {
	return s.move(w, r, knm.StateReserved)
}

// move is PUT …/{N}/activate and …/reserve: the public fields of the optional body are
// merged into the number as it moves (Kazoo's public_fields option), and a success is
// 201, as for every crossbar PUT.
func (s *Server) move(w http.ResponseWriter, r *http.Request, to knm.State) error {
	acc, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	var data map[string]json.RawMessage
	if err := decodeOptionalBody(r, &data); err != nil {
		return err
	}
	if err := manager.CheckNumberPayload(data, manager.PayloadPatch); err != nil {
		return err
	}
	n, err := s.mgr.MoveWith(r.Context(), caller(r).ID, num, acc.ID, to, publicFields(data))
	if err != nil {
		return err
	}
	return s.writeNumber(w, r, http.StatusCreated, n)
}

// routingNote reads a carrier's note that the number does not ring on the platform yet
// (knm_voxbone marks a DID whose configuration is pending in its carrier data).
func routingNote(carrierData json.RawMessage) (state, why string) {
	var m struct {
		R *struct {
			State string `json:"state"`
			Error string `json:"error"`
		} `json:"knm_routing"`
	}
	if len(carrierData) == 0 || json.Unmarshal(carrierData, &m) != nil || m.R == nil {
		return "", ""
	}
	return m.R.State, m.R.Error
}
