// Command buyingbench measures searches that must buy under contention: -callers accounts
// each search -quantity numbers in area 205 at once, through manager.Search and knm_voxbone,
// against the Voxbone emulator (over loopback HTTP) answering after -latency and counting at
// most -rps requests per second by arrival time, as Voxbone does. knm's limiter has the same
// budget. It reports callers served within the deadline, served after it (the settle phase),
// refused before spending, answered with an order reference, DIDs bought but neither
// delivered nor held (must be 0), numbers given to two callers (must be 0), Voxbone requests
// per DID bought, 429s (must be 0) and p50/p99 latency, once per coalescing window given.
//
//	go run ./bench/buyingbench
//	go run ./bench/buyingbench -callers 30 -quantity 2 -latency 50ms -rps 20 -windows 25ms,1ms
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/bench/internal/latency"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/voxbone/emulator"
)

// options are the benchmark's flags.
type options struct {
	callers, quantity, rps int
	latency, deadline      time.Duration
	maxOrderQuantity       int
	maxOrderCost           float64
}

func main() {
	var o options
	flag.IntVar(&o.callers, "callers", 30, "concurrent searches, one account each")
	flag.IntVar(&o.quantity, "quantity", 2, "numbers per search")
	flag.IntVar(&o.rps, "rps", 20, "Voxbone's limit and knm's budget, requests per second")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "emulator latency per request")
	flag.DurationVar(&o.deadline, "deadline", 5*time.Second, "number_search_timeout_ms")
	flag.IntVar(&o.maxOrderQuantity, "max-order-quantity", 5, "max_order_quantity (per search)")
	flag.Float64Var(&o.maxOrderCost, "max-order-cost", 4.00, "max_order_cost (per search)")
	windows := flag.String("windows", "25ms,1ms", "coalesce_window_ms values to run, comma separated")
	flag.Parse()
	fmt.Printf("load average before: %s", loadavg())
	for _, w := range strings.Split(*windows, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(w))
		if err != nil {
			log.Fatal(err)
		}
		res, err := run(context.Background(), o, d)
		if err != nil {
			log.Fatal(err)
		}
		res.print(o, d)
	}
	fmt.Printf("load average after: %s", loadavg())
}

// result is what one run measured.
type result struct {
	servedInTime, servedLate, refused, withOrder, nothing int
	bought, delivered, held, lost, doubled                int
	requests, tooMany                                     int
	lat                                                   []time.Duration
	orders                                                int
}

func (r result) print(o options, window time.Duration) {
	slices.Sort(r.lat)
	fmt.Printf("\ncoalesce window %v: %d callers x %d numbers, %v latency, %d req/s, deadline %v\n", window,
		o.callers, o.quantity, o.latency, o.rps, o.deadline)
	fmt.Printf("  served within the deadline   %d (%.0f %%)\n", r.servedInTime,
		100*float64(r.servedInTime)/float64(o.callers))
	fmt.Printf("  served after it (settling)   %d\n", r.servedLate)
	fmt.Printf("  refused before spending      %d\n", r.refused)
	fmt.Printf("  answered with an order ref   %d\n", r.withOrder)
	fmt.Printf("  got nothing, no reference    %d\n", r.nothing)
	fmt.Printf("  orders placed                %d\n", r.orders)
	fmt.Printf("  DIDs bought                  %d (delivered %d, held %d)\n", r.bought, r.delivered, r.held)
	fmt.Printf("  bought, not delivered/held   %d\n", r.lost)
	fmt.Printf("  numbers given to two callers %d\n", r.doubled)
	perDID := 0.0
	if r.bought > 0 {
		perDID = float64(r.requests) / float64(r.bought)
	}
	fmt.Printf("  Voxbone requests             %d (%.2f per DID bought)\n", r.requests, perDID)
	fmt.Printf("  429 answers                  %d\n", r.tooMany)
	fmt.Printf("  latency p50 %v  p99 %v  max %v\n", latency.Percentile(r.lat, 0.5).Round(time.Millisecond),
		latency.Percentile(r.lat, 0.99).Round(time.Millisecond), latency.Percentile(r.lat, 1).Round(time.Millisecond))
}

// bench is one run's emulator, store, carrier and manager.
type bench struct {
	em    *emulator.Emulator
	store knm.Store
	m     *manager.Manager
	accts []string
}

func setup(ctx context.Context, o options, window time.Duration, dir string) (*bench, func(), error) {
	em := emulator.New(emulator.Config{Latency: o.latency, RateLimit: o.rps, Seed: 1})
	srv := httptest.NewServer(em)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "knm.db"))
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	cleanup := func() { store.Close(); srv.Close() }
	s := knmvoxbone.DefaultSettings()
	s.BaseURL = srv.URL + "/ws-voxbone/services/rest"
	s.RateLimitRPS, s.MaxOrderQuantity, s.MaxOrderCost, s.CoalesceWindow = o.rps, o.maxOrderQuantity,
		o.maxOrderCost, window
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	policy := manager.DefaultPolicy()
	policy.CarrierModules, policy.SearchTimeout = []string{knmvoxbone.ModuleName}, o.deadline
	m, err := manager.New(manager.Options{Store: store,
		Policy:   func(context.Context) (manager.Policy, error) { return policy, nil },
		Carriers: func([]string) []knm.Carrier { return []knm.Carrier{c} },
		Logger:   slog.New(slog.DiscardHandler)})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	b := &bench{em: em, store: store, m: m}
	for i := range o.callers {
		id := fmt.Sprintf("%032x", 0xb0000+i)
		if err := store.CreateAccount(ctx, &knm.Account{ID: id, Name: "bench" + id[27:], Enabled: true}); err != nil {
			cleanup()
			return nil, nil, err
		}
		b.accts = append(b.accts, id)
	}
	return b, cleanup, nil
}

// answer is one caller's search.
type answer struct {
	res  *manager.SearchResult
	err  error
	took time.Duration
}

func run(ctx context.Context, o options, window time.Duration) (result, error) {
	dir, err := os.MkdirTemp("", "buyingbench")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	b, cleanup, err := setup(ctx, o, window, dir)
	if err != nil {
		return result{}, err
	}
	defer cleanup()
	answers := make([]answer, o.callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range o.callers {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			res, err := b.m.Search(ctx, manager.SearchRequest{Country: "US", Prefix: "205", Quantity: o.quantity,
				AccountID: b.accts[i]})
			answers[i] = answer{res: res, err: err, took: time.Since(t0)}
		})
	}
	close(start)
	wg.Wait()
	if err := b.settled(ctx); err != nil {
		return result{}, err
	}
	return b.measure(ctx, o, answers)
}

// settled waits until no order of knm_voxbone is unfinished (orders outlive the searches).
func (b *bench) settled(ctx context.Context) error {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		es, err := b.store.FindJournals(ctx, knm.JournalFilter{Carrier: knmvoxbone.ModuleName,
			States: []string{"planned", "cart_created", "items_added", "checkout_sent", "checked_out"}})
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return nil
		}
	}
	return fmt.Errorf("orders still unfinished after 2 minutes")
}

func (b *bench) measure(ctx context.Context, o options, answers []answer) (result, error) {
	var r result
	owner := map[string]int{}
	for i, a := range answers {
		if a.err != nil {
			return r, fmt.Errorf("caller %d: %w", i, a.err)
		}
		r.lat = append(r.lat, a.took)
		for _, n := range a.res.Numbers {
			if _, ok := owner[n.Number]; ok {
				r.doubled++
			}
			owner[n.Number] = i
		}
		var refused, order bool
		for _, c := range a.res.Carriers {
			refused = refused || c.Status == manager.CarrierRefused
			order = order || c.Order != ""
		}
		switch {
		case len(a.res.Numbers) >= o.quantity && a.took <= o.deadline:
			r.servedInTime++
		case len(a.res.Numbers) >= o.quantity:
			r.servedLate++
		case refused:
			r.refused++
		case order:
			r.withOrder++
		default:
			r.nothing++
		}
	}
	r.delivered = len(owner)
	held, err := b.store.FindNumbers(ctx, knm.NumberFilter{States: []knm.State{knm.StateReserved},
		Module: knmvoxbone.ModuleName})
	if err != nil {
		return r, err
	}
	r.held = len(held)
	accounted := map[string]bool{}
	for n := range owner {
		accounted[n] = true
	}
	for _, n := range held {
		accounted[n.Number] = true
	}
	for _, d := range b.em.DIDs() {
		r.bought++
		if !accounted["+"+strings.TrimPrefix(d.E164, "+")] {
			r.lost++
		}
	}
	for _, q := range b.em.Requests() {
		r.requests++
		if q.Status == 429 || q.Status == 509 {
			r.tooMany++
		}
	}
	r.orders = len(b.em.Orders())
	return r, nil
}

// loadavg is the machine's load average, as /proc/loadavg says it.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown\n"
	}
	return string(b)
}
