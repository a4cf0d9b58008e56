package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// Voxbone is the native ordering of the knm_voxbone carrier, as the API needs it. cmd/knm
// adapts the carrier to it; results other than orders are passed through as JSON.
type Voxbone interface {
	// DIDGroups lists DID groups with stock and prices (a quote).
	DIDGroups(ctx context.Context, q DIDGroupQuery) (any, error)
	// Balance returns the Voxbone account balance.
	Balance(ctx context.Context) (any, error)
	// Order buys DIDs. A repeated IdempotencyKey returns the first order and buys nothing.
	Order(ctx context.Context, req OrderRequest) (*Order, error)
	// GetOrder returns one order by knm's order id, or a not_found error.
	GetOrder(ctx context.Context, id string) (*Order, error)
	// ListOrders returns knm's orders, newest last.
	ListOrders(ctx context.Context) ([]*Order, error)
}

// DIDGroupQuery narrows DIDGroups.
type DIDGroupQuery struct {
	Country  string // ISO alpha-3 (alpha-2 accepted and converted by the adapter)
	AreaCode string
	Type     string // GEOGRAPHIC, TOLL_FREE, …
}

// OrderRequest is POST /v2/voxbone/orders.
type OrderRequest struct {
	GroupID        int64  `json:"group_id"`
	Quantity       int    `json:"quantity"`
	IdempotencyKey string `json:"idempotency_key"`
	AssignTo       string `json:"assign_to"`
	// Country is the group's country (alpha-2 or alpha-3); the carrier defaults to USA.
	Country string `json:"country"`
}

// Order is one native order as the API shows it.
type Order struct {
	ID       string   `json:"id"`
	State    string   `json:"state"`
	AssignTo string   `json:"assign_to,omitempty"`
	Numbers  []string `json:"numbers"`
	Details  any      `json:"details,omitempty"`
}

// errNoVoxbone is the 404 of the native routes when Voxbone is not configured.
func errNoVoxbone() error {
	return &knm.Error{Name: knm.ErrNotFound, Message: "Voxbone is not configured on this knm",
		Cause: "set number_manager.voxbone credentials and add knm_voxbone to carrier_modules"}
}

// voxboneCaller returns the caller if it may use the native routes: the master, or a
// reseller (for its own tree).
func (s *Server) voxboneCaller(r *http.Request, masterOnly bool) (*knm.Account, error) {
	if s.voxbone == nil {
		return nil, errNoVoxbone()
	}
	me := caller(r)
	if err := manager.MayOrder(me, masterOnly); err != nil {
		return nil, err
	}
	return me, nil
}

// ownsOrder reports whether me may see an order assigned to assignTo.
func (s *Server) ownsOrder(r *http.Request, me *knm.Account, assignTo string) bool {
	return s.mgr.OwnsOrder(r.Context(), me, assignTo)
}

func (s *Server) voxboneDIDGroups(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.voxboneCaller(r, false); err != nil {
		return err
	}
	q := r.URL.Query()
	dq := DIDGroupQuery{Country: strings.ToUpper(q.Get("country")), AreaCode: q.Get("area_code"),
		Type: strings.ToUpper(q.Get("type"))}
	if n := len(dq.Country); (n != 2 && n != 3) || !isLetters(dq.Country) {
		return knm.Errorf(knm.ErrInvalid,
			"country is required: an ISO 3166 alpha-3 (or alpha-2) code").WithCause("country")
	}
	for _, c := range dq.AreaCode {
		if (c < '0' || c > '9') && c != '*' {
			return knm.Errorf(knm.ErrInvalid, "area_code must be digits").WithCause("area_code")
		}
	}
	if len(dq.AreaCode) > 10 || (dq.Type != "" && !isTypeName(dq.Type)) {
		return knm.Errorf(knm.ErrInvalid, "area_code or type is malformed").WithCause("type")
	}
	res, err := s.voxbone.DIDGroups(r.Context(), dq)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, res)
	return nil
}

func isLetters(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isTypeName(t string) bool {
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return len(t) <= 32
}

func (s *Server) voxboneBalance(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.voxboneCaller(r, true); err != nil {
		return err
	}
	res, err := s.voxbone.Balance(r.Context())
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, res)
	return nil
}

func (s *Server) voxboneOrder(w http.ResponseWriter, r *http.Request) error {
	me, err := s.voxboneCaller(r, false)
	if err != nil {
		return err
	}
	var req OrderRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = r.Header.Get("Idempotency-Key")
	}
	switch {
	case req.GroupID <= 0:
		return knm.Errorf(knm.ErrInvalid, "group_id must be a positive integer").WithCause("group_id")
	case req.Quantity < 1 || req.Quantity > 5000:
		return knm.Errorf(knm.ErrInvalid, "quantity must be from 1 to 5000").WithCause("quantity")
	case len(req.IdempotencyKey) > 200:
		return knm.Errorf(knm.ErrInvalid, "idempotency_key must be at most 200 characters").WithCause("idempotency_key")
	case req.Country != "" && (len(req.Country) < 2 || len(req.Country) > 3 || !isLetters(req.Country)):
		return knm.Errorf(knm.ErrInvalid, "country must be an ISO alpha-2 or alpha-3 code").WithCause("country")
	case req.AssignTo != "" && !knm.ValidAccountID(req.AssignTo):
		return knm.Errorf(knm.ErrInvalid, "assign_to must be an account id").WithCause("assign_to")
	}
	if !me.SuperduperAdmin && req.AssignTo == "" {
		req.AssignTo = me.ID
	}
	if req.AssignTo != "" && !s.ownsOrder(r, me, req.AssignTo) {
		return knm.Forbidden("assign_to is not in your account tree")
	}
	if req.IdempotencyKey != "" {
		// Keys are per caller, so two resellers choosing the same key never collide.
		req.IdempotencyKey = me.ID + ":" + req.IdempotencyKey
	}
	o, err := s.voxbone.Order(r.Context(), req)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusCreated, o)
	return nil
}

func (s *Server) voxboneOrders(w http.ResponseWriter, r *http.Request) error {
	me, err := s.voxboneCaller(r, false)
	if err != nil {
		return err
	}
	all, err := s.voxbone.ListOrders(r.Context())
	if err != nil {
		return err
	}
	// Orders pile up on a few accounts: decide each distinct assign_to once, so a reseller's
	// listing costs one account read per account, not one per order.
	owned := map[string]bool{}
	out := make([]*Order, 0, len(all))
	for _, o := range all {
		ok, known := owned[o.AssignTo]
		if !known {
			ok = s.ownsOrder(r, me, o.AssignTo)
			owned[o.AssignTo] = ok
		}
		if ok {
			out = append(out, o)
		}
	}
	s.writeData(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) voxboneGetOrder(w http.ResponseWriter, r *http.Request) error {
	me, err := s.voxboneCaller(r, false)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		return knm.Errorf(knm.ErrInvalid, "order id is malformed").WithCause("id")
	}
	o, err := s.voxbone.GetOrder(r.Context(), id)
	if err != nil {
		return err
	}
	if !s.ownsOrder(r, me, o.AssignTo) {
		// Same answer as a missing order, so order ids cannot be probed.
		return &knm.Error{Name: knm.ErrNotFound, Message: "order " + id + " not found", Cause: id}
	}
	s.writeData(w, r, http.StatusOK, o)
	return nil
}
