package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
)

// orderStates are the journal states an order can be filtered by.
var orderStates = []knmvoxbone.OrderState{
	knmvoxbone.StatePlanned,
	knmvoxbone.StateCartCreated,
	knmvoxbone.StateItemsAdded,
	knmvoxbone.StateCheckoutSent,
	knmvoxbone.StateCheckedOut,
	knmvoxbone.StateAwaitingDelivery,
	knmvoxbone.StateImported,
	knmvoxbone.StatePartial,
	knmvoxbone.StateFailed,
}

// ordersView is the orders page's data.
type ordersView struct {
	State     string
	States    []knmvoxbone.OrderState
	Orders    []*knmvoxbone.OrderResult
	Instances instances
	Names     map[string]string
	Accounts  []*knm.Account
	Form      map[string]string
	Errors    fieldErrors
}

// voxboneOrderer refuses callers that may not use native ordering (the API's rule).
func (s *Server) voxboneOrderer(me *knm.Account) error {
	if s.vox == nil {
		return knm.Errorf(knm.ErrNotFound, "Voxbone is not configured on this knm").
			WithCause("set number_manager.voxbone credentials and add knm_voxbone to carrier_modules")
	}
	return manager.MayOrder(me, false)
}

// orders lists the Voxbone order journal the caller may see (the master every order, a
// reseller those for its tree), newest first, optionally one state only.
func (s *Server) orders(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	return s.renderOrders(w, r, me, http.StatusOK, nil, nil)
}

func (s *Server) renderOrders(w http.ResponseWriter, r *http.Request, me *knm.Account, status int,
	form map[string]string, errs fieldErrors) error {
	if err := s.voxboneOrderer(me); err != nil {
		return err
	}
	ctx := r.Context()
	v := ordersView{State: r.URL.Query().Get("state"), States: orderStates, Errors: errs, Form: form}
	if v.State != "" && !slices.Contains(orderStates, knmvoxbone.OrderState(v.State)) {
		return knm.Errorf(knm.ErrInvalid, "state must be one of %s", orderStateList()).WithCause("state")
	}
	if v.Form == nil {
		v.Form = map[string]string{"country": "US", "quantity": "1", "idempotency_key": randomHex(12)}
	}
	all, err := s.vox.ListOrders(ctx)
	if err != nil {
		return err
	}
	owned := map[string]bool{}
	for _, o := range slices.Backward(all) {
		ok, known := owned[o.AssignTo]
		if !known {
			ok = s.mgr.OwnsOrder(ctx, me, o.AssignTo)
			owned[o.AssignTo] = ok
		}
		if ok && (v.State == "" || string(o.State) == v.State) {
			v.Orders = append(v.Orders, o)
		}
	}
	if v.Accounts, err = s.mgr.ListAccounts(ctx, me.ID); err != nil {
		return err
	}
	v.Names = accountNames(v.Accounts)
	v.Instances = s.instances(ctx)
	s.render(w, r, status, "orders", view{Title: "Orders", Nav: "orders", Me: me, Data: v})
	return nil
}

// placeOrder is the native order form (a DID group and a quantity), with the API's
// rules: master or reseller, assign_to within the caller's tree (a reseller's orders are
// its own unless it names a sub-account), and an idempotency key made when the form was
// shown, so a double submit buys once.
func (s *Server) placeOrder(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if err := s.voxboneOrderer(me); err != nil {
		return err
	}
	form := map[string]string{}
	for _, k := range []string{"group_id", "quantity", "country", "assign_to", "idempotency_key"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	fail := func(field, msg string) error {
		return s.renderOrders(w, r, me, http.StatusBadRequest, form, fieldErrors{field: msg})
	}
	group, err := strconv.Atoi(form["group_id"])
	if err != nil || group < 1 {
		return fail("group_id", "the DID group must be a positive whole number")
	}
	qty, err := strconv.Atoi(form["quantity"])
	if err != nil || qty < 1 {
		return fail("quantity", "the quantity must be a whole number, at least 1")
	}
	key := form["idempotency_key"]
	if key == "" || len(key) > 200 {
		return fail("", "the form has no idempotency key; reload the page")
	}
	assign := form["assign_to"]
	if !me.SuperduperAdmin && assign == "" {
		assign = me.ID
	}
	if assign != "" && !s.mgr.OwnsOrder(r.Context(), me, assign) {
		return fail("assign_to", "that account is not in your account tree")
	}
	o, err := s.vox.Order(r.Context(), knmvoxbone.OrderRequest{GroupID: group, Quantity: qty, Country: form["country"],
		IdempotencyKey: me.ID + ":" + key, AssignTo: assign})
	if err != nil {
		errs, ferr := fieldError(err, "group_id", "quantity", "country", "assign_to", "idempotency_key")
		if ferr != nil {
			return ferr
		}
		return s.renderOrders(w, r, me, http.StatusBadRequest, form, errs)
	}
	http.Redirect(w, r, "/orders/"+o.OrderID, http.StatusSeeOther)
	return nil
}

// orderView is an order's page data.
type orderView struct {
	Order     *knmvoxbone.OrderResult
	Instances instances
	Steps     []step
	Final     bool
	Names     map[string]string
	Settled   bool
	Minimum   string // how long an order without an owning instance must be idle to be settled
}

// orderDetail shows one order the caller may see; others are "not found", as in the API.
func (s *Server) orderDetail(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if err := s.voxboneOrderer(me); err != nil {
		return err
	}
	id := r.PathValue("id")
	o, err := s.vox.GetOrder(r.Context(), id)
	if err == nil && !s.mgr.OwnsOrder(r.Context(), me, o.AssignTo) {
		err = knm.Errorf(knm.ErrNotFound, "order %s not found", id)
	}
	if err != nil {
		return err
	}
	accs, err := s.mgr.ListAccounts(r.Context(), me.ID)
	if err != nil {
		return err
	}
	v := orderView{Order: o, Steps: orderSteps(o.State), Final: o.State.Final(), Names: accountNames(accs),
		Settled: r.URL.Query().Get("settled") == "1", Minimum: manager.RecoverGrace.String(),
		Instances: s.instances(r.Context())}
	s.render(w, r, http.StatusOK, "order", view{Title: "Order " + o.OrderID, Nav: "orders", Me: me, Data: v})
	return nil
}

// settleOrder settles an unfinished order now (master only), as recovery would: one owned by
// a live instance is refused (it is that instance's), one of an expired lease is taken over,
// and one without an owner must be idle for manager.RecoverGrace (it may still be running).
func (s *Server) settleOrder(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if err := s.masterVoxbone(me); err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := s.vox.SettleOrder(r.Context(), id, manager.RecoverGrace); err != nil {
		return err
	}
	http.Redirect(w, r, "/orders/"+id+"?settled=1", http.StatusSeeOther)
	return nil
}

// orderStateList names the order states for an error message.
func orderStateList() string {
	names := make([]string, len(orderStates))
	for i, st := range orderStates {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// instances are the knm instances that hold or held a lease, by id, as read at now.
type instances struct {
	byID map[string]*knm.Instance
	now  time.Time
}

// instances returns the registered instances; none when they cannot be read (the orders
// then name an instance by its id alone).
func (s *Server) instances(ctx context.Context) instances {
	list, err := s.store.ListInstances(ctx)
	if err != nil {
		s.logger.WarnContext(ctx, "web: instances not read", "error", err)
	}
	in := instances{byID: make(map[string]*knm.Instance, len(list)), now: s.now()}
	for _, i := range list {
		in.byID[i.ID] = i
	}
	return in
}

// Label names the instance id for a page: its host and process, and whether its lease is
// still live; the id alone (host-pid-random) once the instance is gone from the list;
// "none" for an order no instance held.
func (in instances) Label(id string) string {
	i, ok := in.byID[id]
	switch {
	case id == "":
		return "none"
	case !ok:
		return id + " (ended: its lease was released or pruned)"
	case i.Live(in.now):
		return fmt.Sprintf("%s, process %d (running)", i.Host, i.PID)
	}
	return fmt.Sprintf("%s, process %d (stopped since %s)", i.Host, i.PID, when(i.Expires))
}
