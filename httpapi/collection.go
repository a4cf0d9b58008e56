package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// maxCollection bounds the numbers of one collection request, so one request cannot hold a
// server busy for minutes; the body limit bounds it too.
const maxCollection = 1000

// collectionNumbers validates data.numbers as Kazoo does: a non-empty list of strings,
// each a plausible phone number, unique after normalization (kazoo-knm §6.3), else 400
// invalid with cause numbers. It returns the numbers normalized to E.164 (a number the
// normaliser cannot reconcile is kept as given, for the manager to refuse by name), so
// "+14155550002" and "14155550002" are one number and are refused together (uniqueItems).
func collectionNumbers(data map[string]json.RawMessage, normalize func(string) string) ([]string, error) {
	raw, ok := data["numbers"]
	if !ok {
		return nil, knm.Errorf(knm.ErrInvalid, "numbers is required").WithCause("numbers")
	}
	var nums []string
	if err := json.Unmarshal(raw, &nums); err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "numbers must be an array of strings").WithCause("numbers")
	}
	if len(nums) == 0 {
		return nil, knm.Errorf(knm.ErrInvalid, "numbers must hold at least one number").WithCause("numbers")
	}
	if len(nums) > maxCollection {
		return nil, knm.Errorf(knm.ErrInvalid, "numbers may hold at most %d numbers",
			maxCollection).WithCause("numbers")
	}
	seen := make(map[string]string, len(nums)) // normalized → as given
	for i, n := range nums {
		t, err := checkNumberInput(n, "numbers")
		if err != nil {
			return nil, err
		}
		if e := normalize(t); knm.IsE164(e) {
			t = e
		}
		if prev, dup := seen[t]; dup {
			return nil, knm.Errorf(knm.ErrInvalid,
				"numbers must be unique after normalization (uniqueItems): %q and %q are both %s", prev, n,
				t).WithCause("numbers")
		}
		seen[t] = n
		nums[i] = t
	}
	return nums, nil
}

// collectionReply is Kazoo's {"success":{num: publicJSON},"error":{num: errorObject}}; an
// empty part is omitted.
type collectionReply struct {
	Success map[string]any `json:"success,omitempty"`
	Error   map[string]any `json:"error,omitempty"`
	render  func(*knm.Number) (map[string]any, error)
}

func (c *collectionReply) add(num string, n *knm.Number, err error) {
	if releasedWhileAvailable(err) {
		// As for a single number (writeError): the item reads as a number that is not there.
		err = knm.NotFound(num)
	}
	if err != nil {
		if c.Error == nil {
			c.Error = map[string]any{}
		}
		c.Error[num] = errorObject(err)
		return
	}
	if c.Success == nil {
		c.Success = map[string]any{}
	}
	if n == nil {
		c.Success[num] = deletedNumber(num)
		return
	}
	out, err := c.render(n)
	if err != nil {
		delete(c.Success, num)
		c.add(num, nil, err)
		return
	}
	c.Success[num] = out
}

// errorObject is the knm error object of one failed item; non-knm errors are hidden.
func errorObject(err error) knmErrorObject {
	var ke *knm.Error
	if !errors.As(err, &ke) {
		return knmErrorObject{Code: http.StatusInternalServerError, Error: string(knm.ErrInternal),
			Message: string(knm.ErrInternal)}
	}
	msg := ke.Message
	if msg == "" {
		msg = string(ke.Name)
	}
	return knmErrorObject{Code: ke.Status(), Error: string(ke.Name), Message: msg, Cause: ke.Cause}
}

// readCollection reads a collection request: the account of the path (which the caller
// must be allowed to act for), the body's data, its numbers normalised and unique, and the
// normaliser used.
func (s *Server) readCollection(r *http.Request) (*knm.Account, map[string]json.RawMessage, []string,
	func(string) string, error) {
	acc, err := s.scopedAccount(r)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var data map[string]json.RawMessage
	if err := decodeBody(r, &data); err != nil {
		return nil, nil, nil, nil, err
	}
	norm, err := s.normalizer(r.Context())
	if err != nil {
		return nil, nil, nil, nil, err
	}
	nums, err := collectionNumbers(data, norm)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return acc, data, nums, norm, nil
}

// collection runs op on every number of a collection request, one after another so the
// carrier rate budget is not flooded, and stops early only when the client goes away.
// check, when not nil, validates the whole payload first: a payload that is wrong for
// every number is one 400, not one error per number.
func (s *Server) collection(w http.ResponseWriter, r *http.Request, check func(map[string]json.RawMessage) error,
	op func(acc *knm.Account, num string, data map[string]json.RawMessage) (*knm.Number, error)) error {
	acc, data, nums, _, err := s.readCollection(r)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(data); err != nil {
			return err
		}
	}
	reply := collectionReply{render: func(n *knm.Number) (map[string]any, error) { return s.numberJSON(r, n) }}
	for _, num := range nums {
		if err := r.Context().Err(); err != nil {
			return err
		}
		n, err := op(acc, num, data)
		reply.add(num, n, err)
	}
	s.writeData(w, r, successStatus(r), reply)
	return nil
}

func (s *Server) collectionCreate(w http.ResponseWriter, r *http.Request) error {
	check := func(data map[string]json.RawMessage) error {
		return manager.CheckNumberPayload(data, manager.PayloadCreate)
	}
	create := func(acc *knm.Account, num string, data map[string]json.RawMessage) (*knm.Number, error) {
		o, err := createFields(data)
		if err != nil {
			return nil, err
		}
		o.AssignTo = acc.ID
		return s.mgr.Create(r.Context(), caller(r).ID, num, o)
	}
	return s.collection(w, r, check, create)
}

func (s *Server) collectionRelease(w http.ResponseWriter, r *http.Request) error {
	return s.collection(w, r, nil, func(_ *knm.Account, num string, _ map[string]json.RawMessage) (*knm.Number, error) {
		return s.mgr.Release(r.Context(), caller(r).ID, num)
	})
}

// collectionActivate is PUT …/collection/activate; with an Idempotency-Key a retry gets the
// first reply again and activates nothing.
func (s *Server) collectionActivate(w http.ResponseWriter, r *http.Request) error {
	acc, _, nums, _, err := s.readCollection(r)
	if err != nil {
		return err
	}
	request := map[string]any{"account": acc.ID, "numbers": nums}
	return s.idempotent(w, r, "collection.activate", request, func() (any, error) {
		reply := collectionReply{render: func(n *knm.Number) (map[string]any, error) { return s.numberJSON(r, n) }}
		for _, num := range nums {
			if err := r.Context().Err(); err != nil {
				return nil, err
			}
			n, err := s.mgr.Activate(r.Context(), caller(r).ID, num, acc.ID)
			reply.add(num, n, err)
		}
		return reply, nil
	})
}

// creationStates is Kazoo's allowed_creation_states for the caller.
func creationStates(me *knm.Account) []knm.State {
	switch {
	case me.IsAdmin():
		return []knm.State{knm.StateAging, knm.StateAvailable, knm.StateInService, knm.StatePortIn, knm.StateReserved}
	case me.AllowNumberAdditions:
		return []knm.State{knm.StateInService, knm.StateReserved}
	}
	return []knm.State{}
}

// carriersInfo is GET …/carriers_info (kazoo-knm §2.6).
func (s *Server) carriersInfo(w http.ResponseWriter, r *http.Request) error {
	acc, err := s.scopedAccount(r)
	if err != nil {
		return err
	}
	names, err := s.mgr.SelectCarriers(r.Context(), acc.ID, manager.ResellerOf(acc))
	if err != nil {
		return err
	}
	maxPrefix := 15
	usable := []string{}
	if s.registry != nil {
		for _, c := range s.registry.New(names, s.logger) {
			maxPrefix = min(maxPrefix, c.Info().MaximalPrefixLength)
		}
		for _, n := range s.registry.Names() {
			if n != "knm_reserved" && n != "knm_reserved_reseller" {
				usable = append(usable, knm.CarrierModuleShortName(n))
			}
		}
	}
	s.writeData(w, r, http.StatusOK, map[string]any{
		"maximal_prefix_length":  maxPrefix,
		"usable_carriers":        usable,
		"usable_creation_states": creationStates(caller(r)),
	})
	return nil
}

// classifiers is GET …/classifiers: number_manager.classifiers as configured.
func (s *Server) classifiers(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.scopedAccount(r); err != nil {
		return err
	}
	nm, err := s.cfg.NumberManager(r.Context())
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, nm.Classifiers)
	return nil
}

// classifyNumber is GET …/classifiers/{N}: {"number","e164","name", …classifier fields}.
func (s *Server) classifyNumber(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.scopedAccount(r); err != nil {
		return err
	}
	num, err := pathNumber(r)
	if err != nil {
		return err
	}
	nm, err := s.cfg.NumberManager(r.Context())
	if err != nil {
		return err
	}
	norm, err := nm.Normalizer()
	if err != nil {
		return err
	}
	out := map[string]any{}
	name, c := norm.Classify(num)
	if c != nil && len(c.Fields) > 0 {
		var fields map[string]any
		if json.Unmarshal(c.Fields, &fields) == nil {
			for k, v := range fields {
				out[k] = v
			}
		}
	}
	out["number"] = num
	out["e164"] = norm.Normalize(num)
	if name != "" {
		out["name"] = name
	}
	s.writeData(w, r, http.StatusOK, out)
	return nil
}

// check is POST …/check (kazoo-knm §2.7): each system carrier in order is asked about the
// numbers no earlier carrier answered for; what none answers is "error".
func (s *Server) check(w http.ResponseWriter, r *http.Request) error {
	_, _, nums, norm, err := s.readCollection(r)
	if err != nil {
		return err
	}
	remaining := make([]string, 0, len(nums))
	for _, n := range nums {
		if e := norm(n); !slices.Contains(remaining, e) {
			remaining = append(remaining, e)
		}
	}
	out := make(map[string]string, len(remaining))
	if s.registry != nil {
		names, err := s.mgr.SelectCarriers(r.Context(), "", "")
		if err != nil {
			return err
		}
		for _, c := range s.registry.New(names, s.logger) {
			if len(remaining) == 0 {
				break
			}
			res, err := c.CheckNumbers(r.Context(), remaining)
			if err != nil {
				if !errors.Is(err, knm.ErrNotImplemented) {
					s.logger.WarnContext(r.Context(), "carrier check failed", "request_id", requestID(r), "module",
						c.Name(), "error", err)
				}
				continue
			}
			remaining = slices.DeleteFunc(remaining, func(n string) bool {
				st, ok := res[n]
				if ok {
					out[n] = kazooCheckStatus(st)
				}
				return ok
			})
		}
	}
	for _, n := range remaining {
		out[n] = "error"
	}
	s.writeData(w, r, http.StatusOK, out)
	return nil
}

// kazooCheckStatus turns a carrier's answer about a number into Kazoo's: "success" when
// the carrier holds it ("active"), else "error".
func kazooCheckStatus(st string) string {
	if st == "active" || st == "success" {
		return "success"
	}
	return "error"
}

// successStatus is crossbar's status of a success: 201 for every PUT, else 200.
func successStatus(r *http.Request) int {
	if r.Method == http.MethodPut {
		return http.StatusCreated
	}
	return http.StatusOK
}
