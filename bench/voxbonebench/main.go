// Command voxbonebench compares knm_voxbone's search-and-buy with a replay of Kazoo
// master's request sequence (kazoo-knm §2.8), against the Voxbone emulator with a fixed
// latency per request.
//
// Each run uses a fresh emulator whose US 256 DID groups hold 5+5+5 DIDs (so a 15-number
// buy spans three groups) and a fresh SQLite database, and measures:
//
//	(a) knm: FindNumbers(prefix 256, quantity 15) on an empty pool;
//	(b) Kazoo: balance, didgroup, cart, add x3, checkout, did?orderReference, one after the
//	    other, then 15 sequential number creations (Kazoo creates each number on its own);
//	(c) pool hit: the same search again once the pool holds the 15 numbers;
//	(d) knm with routing on (voice_uri set, its voice URI already known, as in steady
//	    state): the same search as (a), which also configures and verifies the 15 DIDs;
//	(e) the same, the very first time: the voice URI is looked up and created too.
//
// It prints the median wall times over -n runs, the ratio (b)/(a), the sequential round
// trips of each (requests arriving within half a latency of a round's first request belong
// to that round) and the Voxbone requests made by (c).
//
//	go run ./bench/voxbonebench -n 15 -latency 50ms
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// area256 are the emulator's US 256 DID groups; the first three get stock 5.
var area256 = []int{5116, 5117, 12518, 5118, 5119, 5120, 5121, 5122, 5123}

func main() {
	runs := flag.Int("n", 11, "runs; medians are reported")
	latency := flag.Duration("latency", 50*time.Millisecond, "emulator latency per request")
	flag.Parse()

	var knmT, kazooT, poolT, routedT, firstT []time.Duration
	var knmRT, kazooRT, poolReqs, routedRT, firstRT, configReqs []int
	for i := range *runs {
		r, err := runOnce(*latency)
		if err != nil {
			log.Fatalf("run %d: %v", i, err)
		}
		knmT, kazooT, poolT = append(knmT, r.knm), append(kazooT, r.kazoo), append(poolT, r.pool)
		knmRT = append(knmRT, r.knmRounds)
		kazooRT = append(kazooRT, r.kazooRounds)
		poolReqs = append(poolReqs, r.poolRequests)
		for _, warm := range []bool{true, false} {
			d, rounds, configs, err := runRouted(*latency, warm)
			if err != nil {
				log.Fatalf("run %d, routing on: %v", i, err)
			}
			if warm {
				routedT, routedRT = append(routedT, d), append(routedRT, rounds)
				configReqs = append(configReqs, configs)
			} else {
				firstT, firstRT = append(firstT, d), append(firstRT, rounds)
			}
		}
	}
	mk, mz := median(knmT), median(kazooT)
	fmt.Printf(
		"voxbonebench: %d runs, emulator latency %v per request, 15 numbers over 3 DID groups\n",
		*runs,
		*latency,
	)
	fmt.Printf(
		"(a) knm search-and-buy     median %8.1f ms   sequential round trips %d (goal <= 5)\n",
		ms(mk),
		medianInt(knmRT),
	)
	fmt.Printf("(b) Kazoo request sequence median %8.1f ms   sequential round trips %d\n", ms(mz), medianInt(kazooRT))
	fmt.Printf("    ratio (b)/(a)          %.2fx faster (goal >= 1.6x)\n", float64(mz)/float64(mk))
	fmt.Printf("(c) pool hit               median %8.3f ms   Voxbone requests %d (max over runs %d)\n",
		ms(median(poolT)), medianInt(poolReqs), slices.Max(poolReqs))
	fmt.Printf("(d) knm with routing on    median %8.1f ms   sequential round trips %d   configuration requests %d"+
		" (max %d)\n", ms(median(routedT)), medianInt(routedRT), medianInt(configReqs), slices.Max(configReqs))
	fmt.Printf("    routing adds           %8.1f ms   %d round trip(s)\n", ms(median(routedT)-mk),
		medianInt(routedRT)-medianInt(knmRT))
	fmt.Printf("(e) first routing ever     median %8.1f ms   sequential round trips %d "+
		"(voice URI listed and created)\n", ms(median(firstT)), medianInt(firstRT))
}

// runRouted measures (d) or, when warm is false, (e): a search-and-buy of 15 numbers with
// voice_uri set, on a fresh emulator and database. Warm first buys one number elsewhere
// (area code 205), which finds and remembers the voice URI, and waits for the rate window.
// It returns the wall time, the sequential round trips and the configuration requests of
// the measured search.
func runRouted(latency time.Duration, warm bool) (time.Duration, int, int, error) {
	ctx := context.Background()
	e := emulator.New(emulator.Config{Latency: latency})
	if err := setStock(e); err != nil {
		return 0, 0, 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	srv := &http.Server{Handler: e}
	go srv.Serve(ln)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "voxbonebench")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "knm.db"))
	if err != nil {
		return 0, 0, 0, err
	}
	defer store.Close()
	s := knmvoxbone.DefaultSettings()
	s.BaseURL = "http://" + ln.Addr().String() + "/ws-voxbone/services/rest"
	s.Routing.VoiceURI = "sip:{e164}@sbc.example.com"
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, 0, 0, err
	}
	if warm {
		if _, err := c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Quantity: 1, QueryID: "warm",
			Prefix: knm.SearchPrefix{Dialcode: "+1", National: "205"}}); err != nil {
			return 0, 0, 0, err
		}
		// Let the warm-up's requests leave the one-second rate window, so the measured
		// search has the whole budget, as (a) has.
		time.Sleep(1100 * time.Millisecond)
	} else if _, err := c.Client().AccountBalance(ctx); err != nil {
		return 0, 0, 0, err
	}
	e.ResetRequests()
	start := time.Now()
	rows, err := c.FindNumbers(ctx, knm.SearchOptions{Country: "US", Quantity: 15, QueryID: "bench",
		Prefix: knm.SearchPrefix{Dialcode: "+1", National: "256"}})
	d := time.Since(start)
	if err != nil || len(rows) != 15 {
		return 0, 0, 0, fmt.Errorf("search: %d rows, %v", len(rows), err)
	}
	for _, did := range e.DIDs() {
		if did.VoiceURIID == nil {
			return 0, 0, 0, fmt.Errorf("DID %s not routed", did.E164)
		}
	}
	return d, rounds(e.Requests(), latency), e.Calls("configuration"), nil
}

type result struct {
	knm, kazoo, pool       time.Duration
	knmRounds, kazooRounds int
	poolRequests           int
}

func runOnce(latency time.Duration) (*result, error) {
	ctx := context.Background()
	e := emulator.New(emulator.Config{Latency: latency})
	if err := setStock(e); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: e}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/ws-voxbone/services/rest"

	dir, err := os.MkdirTemp("", "voxbonebench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "knm.db"))
	if err != nil {
		return nil, err
	}
	defer store.Close()

	s := knmvoxbone.DefaultSettings()
	s.BaseURL = base
	c, err := knmvoxbone.New(s, knmvoxbone.Deps{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	opts := knm.SearchOptions{
		Country:  "US",
		Prefix:   knm.SearchPrefix{Dialcode: "+1", National: "256"},
		Quantity: 15,
		QueryID:  "bench",
	}
	r := &result{}

	// Warm the connection pool and the database so neither run pays a first dial.
	if _, err := c.Client().AccountBalance(ctx); err != nil {
		return nil, err
	}
	e.ResetRequests()
	start := time.Now()
	rows, err := c.FindNumbers(ctx, opts)
	r.knm = time.Since(start)
	if err != nil || len(rows) != 15 {
		return nil, fmt.Errorf("knm search: %d rows, %v", len(rows), err)
	}
	r.knmRounds = rounds(e.Requests(), latency)

	e.ResetRequests()
	start = time.Now()
	if _, err := c.FindNumbers(ctx, opts); err != nil {
		return nil, err
	}
	r.pool = time.Since(start)
	r.poolRequests = len(e.Requests())

	if err := setStock(e); err != nil {
		return nil, err
	}
	kz, err := voxbone.New(voxbone.WithBaseURL(base))
	if err != nil {
		return nil, err
	}
	if _, err := kz.AccountBalance(ctx); err != nil {
		return nil, err
	}
	e.ResetRequests()
	start = time.Now()
	if err := kazooSequence(ctx, kz, store); err != nil {
		return nil, fmt.Errorf("kazoo replay: %w", err)
	}
	r.kazoo = time.Since(start)
	r.kazooRounds = rounds(e.Requests(), latency)
	return r, nil
}

// kazooSequence replays knm_voxbone.erl's find_numbers: every request waits for the one
// before, and each number is created on its own.
func kazooSequence(ctx context.Context, vx *voxbone.Client, store knm.Store) error {
	if _, err := vx.AccountBalance(ctx); err != nil {
		return err
	}
	groups, _, err := vx.ListDIDGroups(ctx, voxbone.ListDIDGroupsOptions{
		ListOptions: voxbone.ListOptions{PageSize: 20}, CountryCodeA3: "USA", AreaCode: "256",
		DIDType: "GEOGRAPHIC", ShowEmpty: voxbone.Ptr(false)})
	if err != nil {
		return err
	}
	cart, err := vx.CreateCart(ctx, voxbone.CreateCartRequest{CustomerReference: "account", Description: "bench"})
	if err != nil {
		return err
	}
	left := 15
	for _, g := range groups {
		if left == 0 {
			break
		}
		q := min(g.Stock, left)
		if err := vx.AddDIDsToCart(ctx, cart.CartIdentifier, g.DIDGroupID, q); err != nil {
			return err
		}
		left -= q
	}
	res, err := vx.Checkout(ctx, cart.CartIdentifier)
	if err != nil {
		return err
	}
	for _, p := range res.ProductCheckoutList {
		dids, _, err := vx.ListDIDs(
			ctx,
			voxbone.ListDIDsOptions{ListOptions: voxbone.ListOptions{PageSize: 20}, OrderReference: p.OrderReference},
		)
		if err != nil {
			return err
		}
		for _, d := range dids {
			n := &knm.Number{Number: d.E164, State: knm.StateAvailable, CarrierData: d.Raw}
			n.SetModule("knm_voxbone_kazoo")
			if err := store.CreateNumber(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func setStock(e *emulator.Emulator) error {
	for i, id := range area256 {
		stock := 0
		if i < 3 {
			stock = 5
		}
		if err := e.SetStock(id, stock); err != nil {
			return err
		}
	}
	return nil
}

// rounds counts sequential round trips: a request arriving more than half a latency after
// the first request of the current round starts a new round.
func rounds(reqs []emulator.RequestRecord, latency time.Duration) int {
	n := 0
	var start time.Time
	for _, r := range reqs {
		if n == 0 || r.Time.Sub(start) > latency/2 {
			n++
			start = r.Time
		}
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianInt(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
