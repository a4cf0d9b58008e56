package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/locality"
	"github.com/knmproject/knm/manager"
)

// The crossbar phone_numbers routes below complete those of numbers.go and collection.go:
// what Monster UI's numbers resource calls besides the core lifecycle.

// kazooRouteSchemas are the OpenAPI components of these routes.
const kazooRouteSchemas = `{
 "Identity": {"type": "object", "required": ["account_id", "number"], "properties": {
   "account_id": {"type": "string"}, "number": {"type": "string"}}},
 "FixReport": {"type": "object", "required": ["fixed", "problems"], "properties": {
   "fixed": {"type": "array", "items": {"type": "string"}},
   "problems": {"type": "array", "items": {"type": "string"}}}},
 "FixNumber": {"type": "object", "required": ["number", "report"], "properties": {
   "number": {"$ref": "#/components/schemas/Number"}, "report": {"$ref": "#/components/schemas/FixReport"}}},
 "FixAccount": {"type": "object", "required": ["checked", "numbers"], "properties": {
   "checked": {"type": "integer"},
   "numbers": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/FixReport"}}}},
 "Localities": {"type": "object", "additionalProperties": {"type": "object", "required": ["number", "status"],
   "properties": {"number": {"type": "string"}, "status": {"type": "string", "enum": ["success", "error"]},
     "e164_number": {"type": "string"}, "message": {"type": "string"}, "country": {"type": "string"},
     "geocode": {"type": "object"}, "locality": {"type": "object"}, "carrier": {"type": "object"}}}},
 "Cities": {"type": "object", "additionalProperties": {"type": "object", "required": ["state", "country", "prefixes"],
   "properties": {"state": {"type": "string"}, "country": {"type": "string"},
     "prefixes": {"type": "array", "items": {"type": "string"}}}}},
 "Blocks": {"type": "array", "items": {"type": "object", "required": ["start_number", "end_number"], "properties": {
   "start_number": {"type": "string"}, "end_number": {"type": "string"}}}},
 "LocalityRequest": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object",
   "required": ["numbers"], "properties": {"numbers": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}}},
 "CollectionUpdate": {"type": "object", "required": ["data"],
   "properties": {"data": {"allOf": [{"$ref": "#/components/schemas/NumberPublic"}, {"type": "object",
     "required": ["numbers"], "properties": {
   "numbers": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string"}}}}]}}}
}`

func init() { extraSchemas = append(extraSchemas, kazooRouteSchemas) }

// kazooRoutes are the phone_numbers routes of this file. Their literal segments (fix,
// locality, prefix, collection) are more specific than {number}, so a request for them
// never reaches the single-number routes.
func (s *Server) kazooRoutes() []route {
	pn := "/v2/accounts/{account_id}/phone_numbers"
	num := pn + "/{number}"
	return []route{
		{Method: "GET", Path: num + "/identify", Auth: authRequired,
			Summary: "the account a number routes to (400 client error when it routes nowhere)", Reply: "Identity",
			handle: s.identify, muxPath: num + "/{action}"},
		{Method: "POST", Path: pn + "/fix", Auth: authRequired,
			Summary: "check every number of the account, repair what can be, report the rest", Body: "Object",
			BodyOptional: true, Reply: "FixAccount", handle: s.fixAccount},
		{Method: "POST", Path: pn + "/fix/{number}", Auth: authRequired,
			Summary: "check one number, repair what can be, report the rest", Body: "Object", BodyOptional: true,
			Reply: "FixNumber", handle: s.fixNumber},
		{Method: "POST", Path: pn + "/locality", Auth: authRequired,
			Summary: "where numbers are and what kind of line (offline, libphonenumber's data)",
			Body:    "LocalityRequest", Reply: "Localities", handle: s.localities},
		{Method: "GET", Path: pn + "/prefix", Auth: authRequired,
			Summary: "cities whose name starts with city, with their prefixes (offline)",
			Query:   cityQuery, Reply: "Cities", handle: s.prefixByCity},
		{Method: "GET", Path: "/v2/phone_numbers/prefix", Auth: authRequired,
			Summary: "cities whose name starts with city, with their prefixes (offline), for any account",
			Query:   cityQuery, Reply: "Cities", handle: s.prefixByCity},
		{Method: "POST", Path: pn + "/collection", Auth: authRequired,
			Summary: "replace the public fields of many numbers", Body: "CollectionUpdate", Reply: "Collection",
			handle: s.collectionUpdate},
		{Method: "PATCH", Path: pn + "/collection", Auth: authRequired,
			Summary: "merge the public fields of many numbers (null removes one)", Body: "CollectionUpdate",
			Reply: "Collection", handle: s.collectionPatch},
		{Method: "PUT", Path: num + "/port", Auth: authRequired,
			Summary: "create the number in port_in for the account (no port-request workflow)", Body: "NumberCreate",
			BodyOptional: true, Reply: "Number", Status: http.StatusCreated, handle: s.portNumber},
	}
}

// identify is GET …/{N}/identify.
// It is registered as …/{number}/{action}, because …/{number}/identify and
// …/classifiers/{number} would both match …/classifiers/identify.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("action") != "identify" {
		s.fallback(w, r) // 405 when another method serves the path, else 404
		return nil
	}
	_, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	id, err := s.mgr.Identify(r.Context(), caller(r).ID, num)
	var ie *manager.IdentifyError
	if errors.As(err, &ie) {
		// Crossbar's answer to lookup_account's {not_in_service | account_disabled, …}.
		data := map[string]string{"cause": ie.Cause, "number": ie.Number}
		if ie.AccountID != "" {
			data["account_id"] = ie.AccountID
		}
		return &statusError{status: http.StatusBadRequest, name: "client error", msg: ie.Cause, data: data}
	}
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, id)
	return nil
}

// fixAccount is POST …/fix.
func (s *Server) fixAccount(w http.ResponseWriter, r *http.Request) error {
	acc, err := s.scopedAccount(r)
	if err != nil {
		return err
	}
	var ignored map[string]json.RawMessage
	if err := decodeOptionalBody(r, &ignored); err != nil {
		return err
	}
	reports, checked, err := s.mgr.FixAccount(r.Context(), caller(r).ID, acc.ID)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, map[string]any{"checked": checked, "numbers": reports})
	return nil
}

// fixNumber is POST …/fix/{N}.
func (s *Server) fixNumber(w http.ResponseWriter, r *http.Request) error {
	_, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	var ignored map[string]json.RawMessage
	if err := decodeOptionalBody(r, &ignored); err != nil {
		return err
	}
	n, rep, err := s.mgr.Fix(r.Context(), caller(r).ID, num)
	if knm.IsErrorName(err, knm.ErrForbidden) {
		return knm.NotFound(s.e164(r.Context(), num))
	}
	if err != nil {
		return err
	}
	out, err := s.numberJSON(r, n)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, map[string]any{"number": out, "report": rep})
	return nil
}

// localities is POST …/locality: libphonenumber's answer for each number, keyed by the
// number as sent.
func (s *Server) localities(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.scopedAccount(r); err != nil {
		return err
	}
	var data map[string]json.RawMessage
	if err := decodeBody(r, &data); err != nil {
		return err
	}
	var sent []string
	if err := json.Unmarshal(data["numbers"], &sent); err != nil || len(sent) == 0 || len(sent) > maxCollection {
		return knm.Errorf(knm.ErrInvalid, "numbers must be an array of 1 to %d phone numbers",
			maxCollection).WithCause("numbers")
	}
	e164s := make([]string, len(sent))
	for i, n := range sent {
		e164s[i] = s.e164(r.Context(), n)
	}
	src, err := s.localitySource(r, false)
	if err != nil {
		return err
	}
	found, err := src.Numbers(r.Context(), e164s)
	if err != nil {
		s.logger.WarnContext(r.Context(), "locality lookup failed", "request_id", requestID(r), "error", err)
		return knm.Errorf(knm.ErrUnspecifiedFault, "number locality lookup failed")
	}
	out := make(map[string]any, len(sent))
	for i, n := range sent {
		d := found[e164s[i]]
		d.Number = n
		out[n] = d
	}
	s.writeData(w, r, http.StatusOK, out)
	return nil
}

// cityQuery is the query of the prefix-by-city routes.
var cityQuery = []queryParam{{Name: "city", Type: "string", Doc: "a city name or its first letters"},
	{Name: "country", Type: "string", Doc: "ISO 3166 alpha-2, default US"}}

// prefixByCity is GET …/prefix?city=: Monster UI's searchCity. Under an account it checks the
// caller may act for it; the global route answers any signed-in caller (the data is public).
func (s *Server) prefixByCity(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("account_id") != "" {
		if _, err := s.scopedAccount(r); err != nil {
			return err
		}
	}
	q := r.URL.Query()
	country := q.Get("country")
	if country == "" {
		country = "US"
	}
	src, err := s.localitySource(r, true)
	if err != nil {
		return err
	}
	cities, err := src.Cities(r.Context(), country, q.Get("city"))
	if ke := (*knm.Error)(nil); errors.As(err, &ke) && ke.Name == knm.ErrInvalid {
		return ke.WithCause("city")
	}
	if err != nil {
		s.logger.WarnContext(r.Context(), "city lookup failed", "request_id", requestID(r), "error", err)
		return knm.Errorf(knm.ErrUnspecifiedFault, "prefix lookup failed")
	}
	s.writeData(w, r, http.StatusOK, cities)
	return nil
}

func (s *Server) collectionUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.collectionEdit(w, r, manager.PayloadReplace, s.mgr.Update)
}

func (s *Server) collectionPatch(w http.ResponseWriter, r *http.Request) error {
	return s.collectionEdit(w, r, manager.PayloadPatch, s.mgr.Patch)
}

// collectionEdit is POST/PATCH …/collection: the public fields of data, numbers aside,
// written to each number as POST/PATCH …/{N} would.
func (s *Server) collectionEdit(w http.ResponseWriter, r *http.Request, kind manager.PayloadKind,
	edit func(ctx context.Context, auth, number string, public map[string]json.RawMessage) (*knm.Number, error)) error {
	fields := func(data map[string]json.RawMessage) map[string]json.RawMessage {
		out := publicFields(data)
		delete(out, "numbers")
		return out
	}
	check := func(data map[string]json.RawMessage) error { return manager.CheckNumberPayload(fields(data), kind) }
	op := func(_ *knm.Account, num string, data map[string]json.RawMessage) (*knm.Number, error) {
		return edit(r.Context(), caller(r).ID, num, fields(data))
	}
	return s.collection(w, r, check, op)
}

// portNumber is PUT …/{N}/port: the number is created in port_in for the account, with
// the public fields of the optional body.
func (s *Server) portNumber(w http.ResponseWriter, r *http.Request) error {
	acc, num, err := s.numberRoute(r)
	if err != nil {
		return err
	}
	var data map[string]json.RawMessage
	if err := decodeOptionalBody(r, &data); err != nil {
		return err
	}
	if data == nil {
		data = map[string]json.RawMessage{}
	}
	o, err := createFields(data)
	if err != nil {
		return err
	}
	o.State, o.AssignTo = knm.StatePortIn, acc.ID
	n, err := s.mgr.Create(r.Context(), caller(r).ID, num, o)
	if err != nil {
		return err
	}
	return s.writeNumber(w, r, http.StatusCreated, n)
}

// maxBlocks bounds ?blocks=.
const maxBlocks = 100

// searchBlocks answers a search with ?blocks=N (Monster UI's searchBlocks): up to N
// ranges of quantity consecutive numbers, as [{start_number, end_number}]. knm's carriers
// sell numbers one by one, so the ranges are cut from runs of consecutive numbers the
// search finds when asked for N × quantity numbers.
func (s *Server) searchBlocks(w http.ResponseWriter, r *http.Request, req manager.SearchRequest, q url.Values) error {
	blocks, err := intParam(q, "blocks", 1, 1, maxBlocks)
	if err != nil {
		return err
	}
	size := max(req.Quantity, 1)
	req.Quantity = size * blocks
	res, err := s.mgr.Search(r.Context(), req)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, consecutiveBlocks(res.Numbers, size, blocks))
	return nil
}

// consecutiveBlocks cuts runs of consecutive numbers into ranges of size numbers, at most
// limit of them.
func consecutiveBlocks(found []manager.NumberState, size, limit int) []map[string]string {
	nums := make([]string, 0, len(found))
	for _, f := range found {
		nums = append(nums, f.Number)
	}
	slices.Sort(nums)
	nums = slices.Compact(nums)
	out := []map[string]string{}
	runStart := 0
	for i := 0; i < len(nums) && len(out) < limit; i++ {
		if i > runStart && !follows(nums[i-1], nums[i]) {
			runStart = i
		}
		if i-runStart+1 == size {
			out = append(out, map[string]string{"start_number": nums[runStart], "end_number": nums[i]})
			runStart = i + 1
		}
	}
	return out
}

// follows reports whether b is a + 1, both E.164 numbers of the same length.
func follows(a, b string) bool {
	if len(a) != len(b) || len(a) < 2 {
		return false
	}
	x, err1 := strconv.ParseUint(a[1:], 10, 64)
	y, err2 := strconv.ParseUint(b[1:], 10, 64)
	return err1 == nil && err2 == nil && y == x+1
}

// lookupReseller allows a global search with ?reseller_id=R to search as R, as crossbar
// does: R must be a reseller (or the master) whose number_manager
// unauthorized_numbers_lookup is true (its own configs_number_manager, else
// system_config). Otherwise 404 "number search restricted", or "nonexistent reseller_id"
// for an account knm does not have. Without a token, carriers still buy nothing.
func (s *Server) lookupReseller(r *http.Request, id string) (string, error) {
	restricted := &statusError{status: http.StatusNotFound, name: "not_found", msg: "number search restricted",
		data: map[string]string{"message": "number search restricted", "cause": id}}
	if !knm.ValidAccountID(id) {
		return "", &statusError{status: http.StatusNotFound, name: "not_found", msg: "nonexistent reseller_id",
			data: map[string]string{"message": "nonexistent reseller_id", "cause": id}}
	}
	acc, err := s.store.GetAccount(r.Context(), id)
	switch {
	case knm.IsErrorName(err, knm.ErrNotFound):
		return "", &statusError{status: http.StatusNotFound, name: "not_found", msg: "nonexistent reseller_id",
			data: map[string]string{"message": "nonexistent reseller_id", "cause": id}}
	case err != nil:
		return "", err
	case !acc.Enabled || !(acc.Reseller || acc.SuperduperAdmin):
		return "", restricted
	}
	allowed, err := s.cfg.AccountGetBool(r.Context(), id, "", config.NumberManagerCategory,
		"unauthorized_numbers_lookup", false)
	if err != nil {
		return "", err
	}
	if !allowed {
		return "", restricted
	}
	return id, nil
}

// localitySource returns the phonebook service the settings name, speaking Kazoo's
// protocol, else the offline source: for numbers number_manager.locality url, else
// number_manager.other phonebook_url; for cities crossbar.phone_numbers phonebook_url.
func (s *Server) localitySource(r *http.Request, forCity bool) (locality.Source, error) {
	cfg := s.cfg.WithoutWriteBack()
	lookups := [][2]string{{"number_manager.locality", "url"}, {"number_manager.other", "phonebook_url"}}
	if forCity {
		lookups = [][2]string{{"crossbar.phone_numbers", "phonebook_url"}}
	}
	for _, l := range lookups {
		u, err := cfg.GetString(r.Context(), l[0], l[1], "")
		if err != nil {
			return nil, err
		}
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, knm.Errorf(knm.ErrUnspecifiedFault, "could not get locality url").WithCause(l[0] + " " + l[1])
		}
		return locality.Upstream{LocalityURL: u, CityURL: u}, nil
	}
	return s.locality, nil
}
