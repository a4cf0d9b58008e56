package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
)

// chart is a small horizontal bar chart drawn on the server as SVG.
type chart struct {
	Title  string
	Label  string // the accessible summary: every bar's name and value
	Bars   []bar
	Height int
}

type bar struct {
	Name  string
	Value int
	Y     int // top of the bar
	W     int // width of the bar, out of chartBarMax
	TextY int
	ValX  int
}

const (
	chartBarMax = 260 // px of the longest bar
	chartRow    = 26  // px per bar
	chartLeft   = 110 // px for the names
)

func newChart(title string, names []string, values []int) chart {
	c := chart{Title: title, Height: len(names)*chartRow + 4}
	top := slices.Max(append(values, 1))
	var parts []string
	for i, name := range names {
		w := values[i] * chartBarMax / top
		if values[i] > 0 {
			w = max(w, 2)
		}
		y := i*chartRow + 2
		c.Bars = append(c.Bars, bar{Name: name, Value: values[i], Y: y, W: w, TextY: y + 16, ValX: chartLeft + w + 6})
		parts = append(parts, fmt.Sprintf("%s %d", name, values[i]))
	}
	c.Label = title + ": " + strings.Join(parts, ", ")
	return c
}

// dashboardView is the dashboard's data. A part that could not be read says why in its
// Err field instead of failing the whole page.
type dashboardView struct {
	Scope      string // whose numbers are counted
	Total      int
	ByState    chart
	ByCarrier  chart
	Balance    string
	BalanceErr string
	ShowVox    bool
	Unfinished []*knmvoxbone.OrderResult
	OrdersErr  string
	Rate       *knmvoxbone.RateBudget // nil when the limiter cannot tell
	RateErr    string
	Unrouted   []knmvoxbone.UnroutedDID // the first unroutedShown the caller may see
	UnroutedN  int                      // how many the caller may see in all
	RoutedErr  string
	Reconcile  *reconcileRecord
}

// dashboard counts numbers by state and by carrier (every number for the master, the
// account's own otherwise, as the listing decides), and shows the Voxbone balance, the
// orders that need attention and the last reconcile.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	ctx := r.Context()
	v := dashboardView{Scope: "your account's numbers"}
	account := me.ID
	if me.SuperduperAdmin {
		account, v.Scope = "", "every number"
	}
	states := storedStates()
	var names []string
	var counts []int
	for _, st := range states {
		n, err := s.mgr.Count(ctx, me.ID, account, manager.ListFilter{States: []knm.State{st}})
		if err != nil {
			return err
		}
		names, counts = append(names, strings.ReplaceAll(string(st), "_", " ")), append(counts, n)
		v.Total += n
	}
	v.ByState = newChart("Numbers by state", names, counts)
	names, counts = nil, nil
	for _, m := range s.moduleNames(ctx) {
		n, err := s.mgr.Count(ctx, me.ID, account, manager.ListFilter{Module: m})
		if err != nil {
			return err
		}
		names, counts = append(names, knm.CarrierModuleShortName(m)), append(counts, n)
	}
	v.ByCarrier = newChart("Numbers by carrier", names, counts)
	s.dashboardVoxbone(ctx, me, &v)
	s.render(w, r, http.StatusOK, "dashboard", view{Title: "Dashboard", Nav: "dashboard", Me: me, Data: v})
	return nil
}

// dashboardVoxbone fills the Voxbone parts: the balance, the request budget in use and
// the last reconcile (master only, as in the API), and the unfinished orders the caller
// may see.
func (s *Server) dashboardVoxbone(ctx context.Context, me *knm.Account, v *dashboardView) {
	if s.vox == nil || manager.MayOrder(me, false) != nil {
		return
	}
	v.ShowVox = true
	if me.SuperduperAdmin {
		if b, err := s.vox.Balance(ctx); err != nil {
			v.BalanceErr = errorText(err)
		} else {
			v.Balance = fmt.Sprintf("%.2f %s", b.Balance, b.Currency)
		}
		v.Reconcile, _ = s.lastReconcile(ctx)
		if b, err := s.vox.RateBudget(ctx); err != nil {
			v.RateErr = errorText(err)
		} else {
			v.Rate = b
		}
	}
	s.dashboardRouting(ctx, me, v)
	all, err := s.vox.ListOrders(ctx)
	if err != nil {
		v.OrdersErr = errorText(err)
		return
	}
	for _, o := range all {
		if !o.State.Final() && s.mgr.OwnsOrder(ctx, me, o.AssignTo) {
			v.Unfinished = append(v.Unfinished, o)
		}
	}
}

// unroutedShown bounds the DIDs listed on the dashboard; the rest are counted.
const unroutedShown = 20

// dashboardRouting lists the DIDs whose routing is not confirmed, of the orders the caller
// may see (manager.OwnsOrder, as for orders).
func (s *Server) dashboardRouting(ctx context.Context, me *knm.Account, v *dashboardView) {
	all, err := knmvoxbone.UnroutedDIDs(ctx, s.store, 0)
	if err != nil {
		v.RoutedErr = errorText(err)
		return
	}
	for _, u := range all {
		if s.mgr.OwnsOrder(ctx, me, u.For) {
			if v.UnroutedN++; len(v.Unrouted) < unroutedShown {
				v.Unrouted = append(v.Unrouted, u)
			}
		}
	}
}
