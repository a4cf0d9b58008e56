package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/e164"
	"github.com/knmproject/knm/manager"
)

// searchForm is the search form as typed.
type searchForm struct {
	Country  string
	Prefix   string
	Quantity string
	Type     string // GEOGRAPHIC or TOLL_FREE, for the DID groups shown
}

// quote is what a search would do, before anything is spent: what each carrier offers
// from numbers knm already holds, and what knm_voxbone would buy and for how much.
type quote struct {
	Carriers []manager.CarrierReport
	Pool     []manager.NumberState
	Plan     *knmvoxbone.PurchasePlan
	PlanErr  string
	Spends   bool // the confirm button buys something
}

// searchView is the search page's data.
type searchView struct {
	Form      searchForm
	Countries []string
	Errors    fieldErrors
	Quote     *quote
	Groups    []knmvoxbone.GroupQuote
	GroupsErr string
	ShowVox   bool
}

func readSearchForm(get func(string) string) searchForm {
	f := searchForm{Country: strings.ToUpper(strings.TrimSpace(get("country"))),
		Prefix: strings.Join(
			strings.Fields(get("prefix")),
			"",
		), Quantity: strings.TrimSpace(get("quantity")), Type: get("type")}
	if f.Country == "" {
		f.Country = "US"
	}
	if f.Quantity == "" {
		f.Quantity = "1"
	}
	if f.Type != knmvoxbone.TypeTollFree {
		f.Type = knmvoxbone.TypeGeographic
	}
	return f
}

// request is the manager's search request for the form, as me.
func (f searchForm) request(me *knm.Account, token string) (manager.SearchRequest, error) {
	r, err := manager.ParseSearch(manager.SearchInput{Prefix: f.Prefix, Country: f.Country, Quantity: f.Quantity})
	if err != nil {
		return manager.SearchRequest{}, err
	}
	r.AccountID, r.ResellerID, r.AuthToken = me.ID, manager.ResellerOf(me), token
	return r, nil
}

// search shows the search form and, once a prefix is given, the quote: nothing is bought
// until the confirm button is pressed.
func (s *Server) search(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	q := r.URL.Query()
	v := searchView{
		Form:      readSearchForm(q.Get),
		Countries: countries(),
		ShowVox:   s.vox != nil && manager.MayOrder(me, false) == nil,
	}
	if q.Get("prefix") == "" {
		s.render(w, r, http.StatusOK, "search", view{Title: "Search and buy", Nav: "search", Me: me, Data: v})
		return nil
	}
	se, _ := s.sess.read(r)
	qt, err := s.quote(r.Context(), me, v.Form, "quote:"+se.ID)
	if err != nil {
		errs, ferr := fieldError(err, "country", "prefix", "quantity")
		if ferr != nil {
			return ferr
		}
		v.Errors = errs
		s.render(w, r, http.StatusBadRequest, "search", view{Title: "Search and buy", Nav: "search", Me: me, Data: v})
		return nil
	}
	v.Quote = qt
	if v.ShowVox {
		area := strings.TrimSuffix(v.Form.Prefix, "*")
		if v.Form.Type == knmvoxbone.TypeTollFree {
			area = ""
		}
		v.Groups, err = s.vox.Quote(
			r.Context(),
			knmvoxbone.QuoteRequest{Country: v.Form.Country, AreaCode: area, Type: v.Form.Type},
		)
		if err != nil {
			v.GroupsErr = errorText(err)
		}
	}
	s.render(w, r, http.StatusOK, "search", view{Title: "Search and buy", Nav: "search", Me: me, Data: v})
	return nil
}

// quote asks every carrier the search would ask, without letting any of them buy
// (manager.Search with NoPurchase: the same carriers, the same validation), and asks
// knm_voxbone, when it is among them, what it would buy for the rest.
func (s *Server) quote(ctx context.Context, me *knm.Account, f searchForm, token string) (*quote, error) {
	req, err := f.request(me, token)
	if err != nil {
		return nil, err
	}
	req.NoPurchase = true
	res, err := s.mgr.Search(ctx, req)
	if err != nil {
		return nil, err
	}
	q := &quote{Carriers: res.Carriers, Pool: res.Numbers}
	voxPool := -1
	for _, c := range res.Carriers {
		if c.Module == knmvoxbone.ModuleName {
			voxPool = c.Count
		}
	}
	if voxPool < 0 || s.vox == nil {
		return q, nil
	}
	q.Plan, err = s.vox.PlanPurchase(ctx, knmvoxbone.PurchaseQuery{Country: f.Country, Dialcode: e164.Dialcode(f.Country),
		Prefix: f.Prefix, Want: req.Quantity})
	if err != nil {
		q.Plan, q.PlanErr = nil, errorText(err)
		return q, nil
	}
	q.Spends = q.Plan.ToBuy > 0
	return q, nil
}

// countries are the ISO alpha-2 codes of the search form, sorted.
var countries = sync.OnceValue(func() []string {
	return slices.Sorted(
		slices.Values(slices.DeleteFunc(e164.Alpha2Codes(), func(c string) bool { return len(c) != 2 })),
	)
})
