package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
)

// buyTimeout bounds a purchase run from the console. The search inside has its own
// deadline (number_search_timeout_ms); this only stops a stuck store.
const buyTimeout = 3 * time.Minute

// Buy job states.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

// buyJob is a confirmed search run in the background, so the page can follow its orders'
// journal steps as they happen. It is a row of the shared journal (carrier "web"), so a
// page served by another instance follows it too.
type buyJob struct {
	ID       string                  `json:"id"`
	Account  string                  `json:"account"`
	Country  string                  `json:"country"`
	Prefix   string                  `json:"prefix"`
	Quantity int                     `json:"quantity"`
	QueryID  string                  `json:"query_id"`
	Started  time.Time               `json:"started"`
	Finished time.Time               `json:"finished,omitzero"`
	Numbers  []manager.NumberState   `json:"numbers,omitempty"`
	Carriers []manager.CarrierReport `json:"carriers,omitempty"`
	Orders   []string                `json:"orders,omitempty"`
	Error    string                  `json:"error,omitempty"`
	state    string
}

// buy confirms a quoted search: it starts the search (which buys what the pool lacks) in
// the background and sends the browser to its progress page.
func (s *Server) buy(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	f := readSearchForm(r.PostFormValue)
	job := &buyJob{ID: "web-buy-" + randomHex(12), Account: me.ID, Country: f.Country, Prefix: f.Prefix,
		Started: s.now().UTC(), state: jobRunning}
	req, err := f.request(me, job.ID)
	if err != nil {
		return err
	}
	job.Quantity = req.Quantity
	job.QueryID = manager.QueryID(req.Country, req.Prefix, me.ID, job.ID)
	raw, _ := json.Marshal(job)
	e := &knm.JournalEntry{
		ID:      job.ID,
		Carrier: consoleJournal,
		State:   jobRunning,
		Payload: raw,
		Created: job.Started,
		Updated: job.Started,
	}
	if err := s.store.CreateJournal(r.Context(), e); err != nil {
		return err
	}
	go s.runBuy(context.WithoutCancel(r.Context()), e, job, req)
	http.Redirect(w, r, "/buy/"+job.ID, http.StatusSeeOther)
	return nil
}

// runBuy runs the search and records its result in the job's row.
func (s *Server) runBuy(ctx context.Context, e *knm.JournalEntry, job *buyJob, req manager.SearchRequest) {
	ctx, cancel := context.WithTimeout(ctx, buyTimeout)
	defer cancel()
	res, err := s.mgr.Search(ctx, req)
	job.state = jobDone
	if err != nil {
		job.state, job.Error = jobFailed, errorText(err)
	} else {
		job.QueryID, job.Numbers, job.Carriers = res.QueryID, res.Numbers, res.Carriers
	}
	if s.vox != nil {
		if found, err := s.vox.OrdersForQuery(ctx, job.QueryID, false); err == nil {
			for _, o := range found {
				job.Orders = append(job.Orders, o.OrderID)
			}
		}
	}
	job.Finished = s.now().UTC()
	raw, _ := json.Marshal(job)
	e.State, e.Payload, e.Updated = job.state, raw, job.Finished
	if err := s.store.UpdateJournal(ctx, e); err != nil {
		s.logger.Error("web: record purchase result", "job", job.ID, "error", err)
	}
}

// loadJob reads a job the caller may see: its own, or any for the master.
func (s *Server) loadJob(ctx context.Context, me *knm.Account, id string) (*buyJob, error) {
	notFound := knm.Errorf(knm.ErrNotFound, "purchase %s not found", id)
	if !strings.HasPrefix(id, "web-buy-") || len(id) > 64 {
		return nil, notFound
	}
	e, err := s.store.GetJournal(ctx, id)
	if knm.IsErrorName(err, knm.ErrNotFound) || (err == nil && e.Carrier != consoleJournal) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	var job buyJob
	if err := json.Unmarshal(e.Payload, &job); err != nil {
		return nil, err
	}
	job.state = e.State
	if job.Account != me.ID && !me.SuperduperAdmin {
		return nil, notFound
	}
	return &job, nil
}

// step is one journal step of an order, as the progress list shows it.
type step struct {
	Name  string
	Class string // done, now or todo
}

// orderSteps lists the journal steps of an order in state, marking those passed.
func orderSteps(state knmvoxbone.OrderState) []step {
	seq := []knmvoxbone.OrderState{knmvoxbone.StatePlanned, knmvoxbone.StateCartCreated, knmvoxbone.StateItemsAdded,
		knmvoxbone.StateCheckoutSent, knmvoxbone.StateCheckedOut, knmvoxbone.StateImported}
	switch state {
	case knmvoxbone.StateAwaitingDelivery:
		seq[len(seq)-1] = state
	case knmvoxbone.StatePartial:
		seq = append(seq[:len(seq)-1], knmvoxbone.StateAwaitingDelivery, state)
	case knmvoxbone.StateFailed:
		return []step{{Name: string(state), Class: "now"}}
	}
	at := slices.Index(seq, state)
	if at < 0 {
		at = len(seq)
	}
	out := make([]step, len(seq))
	for i, n := range seq {
		out[i] = step{Name: string(n), Class: "todo"}
		switch {
		case i < at || (i == at && state.Final()):
			out[i].Class = "done"
		case i == at:
			out[i].Class = "now"
		}
	}
	return out
}

// orderProgress is one order of a purchase with its steps.
type orderProgress struct {
	Order *knmvoxbone.OrderResult
	Steps []step
}

// buyView is the progress page's data.
type buyView struct {
	Job         *buyJob
	Running     bool
	Interrupted bool
	Orders      []orderProgress
	OrdersErr   string
	Accounts    []*knm.Account
}

// buyProgress shows a purchase: its orders' journal steps while it runs (the page polls
// itself with htmx), then the per-carrier report and the numbers, each one click from
// being assigned.
func (s *Server) buyProgress(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	ctx := r.Context()
	job, err := s.loadJob(ctx, me, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := buyView{Job: job, Running: job.state == jobRunning}
	if v.Running && s.now().Sub(job.Started) > buyTimeout+time.Minute {
		v.Running, v.Interrupted = false, true
	}
	if s.vox != nil {
		v.Orders, err = s.jobOrders(ctx, job, v.Running)
		if err != nil {
			v.OrdersErr = errorText(err)
		}
	}
	if v.Accounts, err = s.mgr.ListAccounts(ctx, me.ID); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "buy", view{Title: "Purchase", Nav: "search", Me: me, Data: v})
	return nil
}

// jobOrders returns the job's orders: while it runs, those still unfinished (a cheap
// read); once done, those the job recorded.
func (s *Server) jobOrders(ctx context.Context, job *buyJob, running bool) ([]orderProgress, error) {
	var list []*knmvoxbone.OrderResult
	if running {
		var err error
		if list, err = s.vox.OrdersForQuery(ctx, job.QueryID, true); err != nil {
			return nil, err
		}
	} else {
		for _, id := range job.Orders {
			o, err := s.vox.GetOrder(ctx, id)
			if err != nil {
				return nil, err
			}
			list = append(list, o)
		}
	}
	out := make([]orderProgress, len(list))
	for i, o := range list {
		out[i] = orderProgress{Order: o, Steps: orderSteps(o.State)}
	}
	return out, nil
}
