package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// publicNumber is Kazoo's knm_phone_number:to_public_json (kazoo-knm §3.2, 4.3 shape): the
// public fields, id, state, used_by, the sorted feature names and _read_only.
func publicNumber(n *knm.Number) map[string]any {
	out := make(map[string]any, len(n.Public)+5)
	for k, v := range n.Public {
		out[k] = v
	}
	features := n.FeatureNames()
	settings := n.Features
	if settings == nil {
		settings = map[string]json.RawMessage{}
	}
	available := n.FeaturesAllowed
	if available == nil {
		available = []string{}
	}
	out["id"] = n.Number
	out["state"] = n.State
	out["features"] = features
	if n.UsedBy != "" {
		out["used_by"] = n.UsedBy
	}
	ro := map[string]any{
		"created":        knm.ToGregorian(n.Created),
		"modified":       knm.ToGregorian(n.Modified),
		"state":          n.State,
		"features":       map[string]any{"available": available, "settings": settings},
		"carrier_module": knm.CarrierModuleShortName(n.ModuleName),
	}
	if n.UsedBy != "" {
		ro["used_by"] = n.UsedBy
	}
	if state, why := routingNote(n.CarrierData); state != "" {
		ro["routing"], ro["routing_error"] = state, why
	}
	out["_read_only"] = ro
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

// listingEntry is one number of the account listing (Kazoo's crossbar_listing view).
func listingEntry(n *knm.Number) map[string]any {
	e := map[string]any{
		"state":    n.State,
		"features": n.FeatureNames(),
		"created":  knm.ToGregorian(n.Created),
		"updated":  knm.ToGregorian(n.Modified),
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

// searchParams reads crossbar's find_numbers query (kazoo-knm §2.2) by the rules every
// entry point shares (manager.ParseSearch).
func searchParams(q url.Values) (manager.SearchRequest, error) {
	return manager.ParseSearch(manager.SearchInput{Prefix: q.Get("prefix"), Country: q.Get("country"),
		Quantity: q.Get("quantity"), Offset: q.Get("offset")})
}

func isLetters(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
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

// searchGlobal is GET /v2/phone_numbers: a search that needs no token, as in Kazoo. With a
// token it searches as the caller; without, it uses the system carriers, hashes an empty
// token into the query id and sets NoPurchase, so no carrier spends money (knm_voxbone
// buying DIDs to offer them) for a caller nobody can bill: anyone who can reach the API
// could otherwise drain the carrier balance.
func (s *Server) searchGlobal(w http.ResponseWriter, r *http.Request) error {
	req, err := searchParams(r.URL.Query())
	if err != nil {
		return err
	}
	if a := authOf(r); a != nil {
		req.AccountID, req.ResellerID, req.AuthToken = a.account.ID, manager.ResellerOf(a.account), a.token
	} else {
		req.NoPurchase = true
	}
	return s.search(w, r, req)
}

// search answers a search. A buying search may carry an Idempotency-Key: a retry with it
// never buys again. When a carrier refused to buy because its rate budget could not carry
// the order in time, the reply says when to come back (Retry-After): 200 with the numbers
// knm had already, or 429 when there are none.
func (s *Server) search(w http.ResponseWriter, r *http.Request, req manager.SearchRequest) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if key != "" && req.AccountID != "" {
		req.IdempotencyKey = caller(r).ID + ":" + key // per caller, as a native order's
	}
	res, err := s.mgr.Search(r.Context(), req)
	if err != nil {
		return err
	}
	type report struct {
		Module     string `json:"module"`
		Status     string `json:"status"`
		Error      string `json:"error,omitempty"`
		Count      int    `json:"count"`
		Order      string `json:"order,omitempty"`
		RetryAfter int    `json:"retry_after_s,omitempty"`
	}
	reports := make([]report, 0, len(res.Carriers))
	var retry time.Duration
	for _, c := range res.Carriers {
		s.metrics.ObserveCarrierSearch(c.Module, c.Status, c.Duration)
		after := int(math.Ceil(c.RetryAfter.Seconds()))
		reports = append(reports, report{c.Module, c.Status, c.Error, c.Count, c.Order, after})
		retry = max(retry, c.RetryAfter)
	}
	numbers := res.Numbers
	if numbers == nil {
		numbers = []manager.NumberState{}
	}
	e, status := s.baseEnvelope(r, "success"), http.StatusOK
	e.Data = numbers
	if res.Carriers != nil {
		e.Carriers = reports
	}
	if retry > 0 {
		after := int(math.Ceil(retry.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(after))
		if len(numbers) == 0 {
			status = http.StatusTooManyRequests
			e.Status, e.Error, e.Message = "error", strconv.Itoa(status), string(knm.ErrTooManyRequests)
			e.Data = knmErrorObject{Code: status, Error: string(knm.ErrTooManyRequests), Message: fmt.Sprintf(
				"no number is available now and buying was refused: the carrier rate budget cannot carry it before "+
					"the search deadline; retry after %d s (see carriers)", after)}
		}
	}
	writeJSON(w, status, e)
	return nil
}

// idempotencyKey returns the request's Idempotency-Key header, checked.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		return "", knm.Errorf(knm.ErrInvalid, "Idempotency-Key must be at most 200 characters").
			WithCause("Idempotency-Key")
	}
	return key, nil
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
		return s.search(w, r, req)
	}
	f := manager.ListFilter{}
	if st := q.Get("filter_state"); st != "" {
		state, err := knm.ParseState(st)
		if err != nil {
			return err
		}
		f.States = []knm.State{state}
	}
	if f.Limit, err = intParam(q, "page_size", maxPageSize, 1, maxPageSize); err != nil {
		return err
	}
	if f.Offset, err = intParam(q, "offset", 0, 0, maxQueryInt); err != nil {
		return err
	}
	ns, total, err := s.mgr.List(r.Context(), caller(r).ID, acc.ID, f)
	if err != nil {
		return err
	}
	numbers := make(map[string]any, len(ns))
	for _, n := range ns {
		numbers[n.Number] = listingEntry(n)
	}
	e := s.baseEnvelope(r, "success")
	e.Data = map[string]any{"numbers": numbers, "cascade_quantity": total}
	size := len(ns)
	e.PageSize = &size
	writeJSON(w, http.StatusOK, e)
	return nil
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
	s.writeData(w, r, http.StatusOK, publicNumber(n))
	return nil
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
	if err := decodeBody(r, &data); err != nil {
		return err
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
	s.writeData(w, r, http.StatusCreated, publicNumber(n))
	return nil
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
	s.writeData(w, r, http.StatusOK, publicNumber(n))
	return nil
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
	s.writeData(w, r, http.StatusOK, publicNumber(n))
	return nil
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	return s.move(w, r, s.mgr.Activate)
}

func (s *Server) reserve(w http.ResponseWriter, r *http.Request) error {
	return s.move(w, r, s.mgr.Reserve)
}

func (s *Server) move(w http.ResponseWriter, r *http.Request,
	op func(ctx context.Context, auth, number, accountID string) (*knm.Number, error)) error {
	acc, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	var data map[string]json.RawMessage
	if err := decodeOptionalBody(r, &data); err != nil {
		return err
	}
	n, err := op(r.Context(), caller(r).ID, num, acc.ID)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, publicNumber(n))
	return nil
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
