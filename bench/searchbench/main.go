// Command searchbench measures manager.Search over a large knm_inventory.
//
// It imports -n numbers (+1 NPA 555 XXXX, NPA from 201 upwards) through manager.Import,
// showing progress, then runs -searches searches of -quantity numbers with random prefixes
// (an NPA, sometimes followed by up to four more digits) through the selection a
// reseller-scoped search uses: knm_reserved, knm_reserved_reseller, knm_local and the
// system carrier_modules [knm_inventory]. It prints p50, p90, p99 and max latency.
// With -one-npa every number is in area code 212 instead, so each search's prefix covers
// up to all of them (the worst case for a prefix scan).
//
//	go run ./bench/searchbench -db sqlite:/tmp/searchbench.db
//	go run ./bench/searchbench -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -pgschema searchbench
//	go run ./bench/searchbench -db sqlite:/tmp/searchbench-212.db -one-npa
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/knmproject/knm"
	"github.com/knmproject/knm/bench/internal/latency"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/carriers/local"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/store/postgres"
	"github.com/knmproject/knm/store/sqlite"
)

func main() {
	db := flag.String("db", "sqlite:searchbench.db", "sqlite:PATH or a postgres:// URL")
	pgSchema := flag.String("pgschema", "", "PostgreSQL: create this schema if missing and use it")
	n := flag.Int("n", 1_000_000, "numbers to import")
	searches := flag.Int("searches", 2000, "searches to time")
	quantity := flag.Int("quantity", 20, "numbers per search")
	skipImport := flag.Bool("skip-import", false, "do not import (the database is already loaded)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the searches to this file")
	oneNPA := flag.Bool("one-npa", false,
		"put every number in area code 212 (+1212NXXXXXX) and search 212 plus 0-4 digits")
	flag.Parse()
	ctx := context.Background()

	raw, err := openStore(ctx, *db, *pgSchema)
	if err != nil {
		log.Fatal(err)
	}
	defer raw.Close()
	s := &timedStore{Store: raw}
	b, err := newBench(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	if !*skipImport {
		if err := importNumbers(ctx, b.m, *n, *oneNPA); err != nil {
			log.Fatal(err)
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	lat, found := b.search(ctx, *searches, *quantity, max(*n/10000, 1), *oneNPA)
	if len(s.put) == len(lat) {
		slices.Sort(s.put)
		fmt.Printf("of which PutSearch (cache write): p50=%v p99=%v max=%v\n",
			s.put[len(s.put)/2], s.put[len(s.put)*99/100], s.put[len(s.put)-1])
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return latency.Percentile(lat, p) }
	fmt.Printf("db=%s numbers=%d searches=%d quantity=%d avg_found=%.1f\n",
		kind(*db), *n, len(lat), *quantity, float64(found)/float64(len(lat)))
	fmt.Printf("search latency: p50=%v p90=%v p99=%v max=%v\n", pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1])
}

// bench is a manager over the local carriers, searching on behalf of an account under a
// reseller.
type bench struct {
	m                 *manager.Manager
	account, reseller string
}

func newBench(ctx context.Context, s knm.Store) (*bench, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := &carriers.Registry{}
	local.RegisterAll(reg, s)
	m, err := manager.New(manager.Options{
		Store: s,
		Policy: func(context.Context) (manager.Policy, error) {
			p := manager.DefaultPolicy()
			p.CarrierModules = []string{"knm_inventory"}
			return p, nil
		},
		Carriers: func(names []string) []knm.Carrier { return reg.New(names, logger) },
		Logger:   logger,
	})
	if err != nil {
		return nil, err
	}
	reseller, err := m.CreateAccount(ctx, knm.SystemAccountID, "bench reseller", "", true)
	if err != nil {
		return nil, err
	}
	account, err := m.CreateAccount(ctx, knm.SystemAccountID, "bench account", reseller.ID, false)
	if err != nil {
		return nil, err
	}
	return &bench{m: m, account: account.ID, reseller: reseller.ID}, nil
}

// search runs searches of quantity numbers with random prefixes over npas area codes and
// returns each one's latency and how many numbers they found in all.
func (b *bench) search(ctx context.Context, searches, quantity, npas int, oneNPA bool) ([]time.Duration, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, searches)
	found := 0
	for i := range searches {
		prefix := fmt.Sprint(201 + rng.IntN(npas))
		if extra := rng.IntN(5); extra > 0 {
			prefix += "5555"[:min(extra, 3)]
			if extra == 4 {
				prefix += fmt.Sprint(rng.IntN(10))
			}
		}
		if oneNPA {
			prefix = "212"
			for range rng.IntN(5) {
				prefix += fmt.Sprint(rng.IntN(10))
			}
		}
		req := manager.SearchRequest{Country: "US", Prefix: prefix, Quantity: quantity,
			AccountID: b.account, ResellerID: b.reseller, AuthToken: fmt.Sprint("token-", i)}
		start := time.Now()
		res, err := b.m.Search(ctx, req)
		lat = append(lat, time.Since(start))
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range res.Carriers {
			if c.Status != manager.CarrierOK {
				log.Fatalf("carrier %s: %s %s", c.Module, c.Status, c.Error)
			}
		}
		found += len(res.Numbers)
	}
	return lat, found
}

func kind(db string) string {
	if strings.HasPrefix(db, "sqlite:") {
		return "sqlite"
	}
	return "postgres"
}

func openStore(ctx context.Context, db, schema string) (knm.Store, error) {
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		return sqlite.Open(ctx, path)
	}
	if schema != "" {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return nil, err
		}
		_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
		conn.Close(ctx)
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(db)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		db = u.String()
	}
	return postgres.Open(ctx, db)
}

// importNumbers writes the CSV to a temporary file (so Import knows the total) and
// imports it, printing progress.
func importNumbers(ctx context.Context, m *manager.Manager, n int, oneNPA bool) error {
	dir, err := os.MkdirTemp("", "searchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "numbers.csv")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "number")
	for i := range n {
		if oneNPA {
			fmt.Fprintf(w, "+1212%07d\n", i*(10_000_000/max(n, 1)))
			continue
		}
		fmt.Fprintf(w, "+1%03d555%04d\n", 201+i/10000, i%10000)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	last := time.Time{}
	rep, err := m.Import(ctx, f, manager.ImportOptions{BatchSize: 5000}, func(done, total int) {
		if time.Since(last) > 500*time.Millisecond || done == total {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "\rimport: %d/%d (%.0f%%) %.0f rows/s", done, total,
				100*float64(done)/float64(max(total, 1)), float64(done)/time.Since(start).Seconds())
		}
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("import: %d rows, %d imported, %d skipped, %d rejected in %v\n",
		rep.Rows, rep.Imported, rep.Skipped, rep.Rejected, time.Since(start).Round(time.Millisecond))
	return nil
}

// timedStore records how long each search-cache write takes, to tell the carriers' reads
// from the cache write in the latency.
type timedStore struct {
	knm.Store
	put []time.Duration
}

func (t *timedStore) PutSearch(ctx context.Context, id string, rows []knm.SearchRow, exp time.Time) error {
	start := time.Now()
	err := t.Store.PutSearch(ctx, id, rows, exp)
	t.put = append(t.put, time.Since(start))
	return err
}
