// Command storebench measures a knm store: bulk import of N numbers, then prefix searches.
//
//	go run ./bench/storebench -n 1000000                       # SQLite in a temporary file
//	go run ./bench/storebench -db 'postgres://…' -schema knmbench -n 1000000
//
// Numbers are +1 NPA-NXX-XXXX spread over hundreds of area codes, imported in a
// scattered order, with a realistic mix of states, modules, owners and carrier data.
// Searches are what a number search asks of the pool: state available, one module, a
// random prefix of 4 to 7 digits, 20 results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
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
	"github.com/knmproject/knm/store"
)

func main() {
	var (
		dsn = flag.String("db", "",
			"database (sqlite:PATH or postgres:// URL); default: SQLite in a temporary file")
		schema  = flag.String("schema", "", "PostgreSQL only: create this schema, run in it, and drop it afterwards")
		n       = flag.Int("n", 1_000_000, "numbers to import")
		batch   = flag.Int("batch", 20_000, "numbers per ImportNumbers call")
		queries = flag.Int("queries", 2000, "prefix searches to time")
		seed    = flag.Uint64("seed", 1, "random seed")
		cpuprof = flag.String("cpuprofile", "", "write a CPU profile of the import to this file")
	)
	flag.Parse()
	ctx := context.Background()
	if *dsn == "" {
		dir, err := os.MkdirTemp("", "storebench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*dsn = "sqlite:" + filepath.Join(dir, "knm.db")
	}
	if *schema != "" {
		var drop func()
		*dsn, drop = useSchema(ctx, *dsn, *schema)
		defer drop()
	}
	s, err := store.Open(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	rng := rand.New(rand.NewPCG(*seed, 2))
	gen := newGenerator(rng)
	fmt.Printf("store: %s\n", redact(*dsn))
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	importNumbers(ctx, s, gen, *n, *batch)
	pprof.StopCPUProfile()
	searchNumbers(ctx, s, gen, rng, *queries)
}

func importNumbers(ctx context.Context, s knm.Store, gen *generator, n, batch int) {
	start := time.Now()
	skipped := 0
	for done := 0; done < n; {
		size := min(batch, n-done)
		ns := make([]*knm.Number, size)
		for i := range ns {
			ns[i] = gen.number(done + i)
		}
		sk, err := s.ImportNumbers(ctx, ns)
		if err != nil {
			log.Fatalf("import: %v", err)
		}
		skipped += len(sk)
		done += size
		if done%(10*batch) == 0 || done == n {
			el := time.Since(start)
			fmt.Printf("  imported %8d  %6.1fs  %8.0f numbers/s\n", done, el.Seconds(), float64(done)/el.Seconds())
		}
	}
	el := time.Since(start)
	fmt.Printf("import: %d numbers (%d skipped) in %.2fs = %.0f numbers/s (batch %d)\n",
		n, skipped, el.Seconds(), float64(n)/el.Seconds(), batch)
}

func searchNumbers(ctx context.Context, s knm.Store, gen *generator, rng *rand.Rand, queries int) {
	modules := []string{"knm_local", "knm_voxbone", "knm_inventory", "knm_managed"}
	filter := func() knm.NumberFilter {
		npa := gen.npas[rng.IntN(len(gen.npas))]
		digits := 4 + rng.IntN(4) // 4..7 digits after the "+"
		prefix := "+1" + npa
		for len(prefix)-1 < digits {
			prefix += fmt.Sprint(rng.IntN(10))
		}
		return knm.NumberFilter{States: []knm.State{knm.StateAvailable}, Module: modules[rng.IntN(len(modules))],
			Prefix: prefix, Limit: 20}
	}
	for range 200 { // warm caches and connections; not timed
		if _, err := s.FindNumbers(ctx, filter()); err != nil {
			log.Fatal(err)
		}
	}
	lat := make([]time.Duration, queries)
	rows := 0
	for i := range lat {
		f := filter()
		t0 := time.Now()
		ns, err := s.FindNumbers(ctx, f)
		lat[i] = time.Since(t0)
		if err != nil {
			log.Fatal(err)
		}
		rows += len(ns)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return latency.Percentile(lat, p) }
	fmt.Printf("prefix search: %d queries (state available, one module, 4-7 digit prefix, limit 20), %.1f rows/query\n",
		queries, float64(rows)/float64(queries))
	fmt.Printf("  p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1])
}

// generator makes the i-th benchmark number: area codes take turns, and within an area
// code the 7-digit subscriber numbers are a permutation, so numbers are unique and
// arrive in scattered order.
type generator struct {
	npas     []string
	accounts []string
	rng      *rand.Rand
}

func newGenerator(rng *rand.Rand) *generator {
	g := &generator{rng: rng}
	for npa := 201; npa <= 989; npa++ {
		if npa%100 == 11 || npa/10%10 == 9 || npa%100 == 0 { // N11 codes, 9X reserved, x00
			continue
		}
		if rng.IntN(2) == 0 { // about 350 area codes
			g.npas = append(g.npas, fmt.Sprint(npa))
		}
	}
	for i := range 1000 {
		g.accounts = append(g.accounts, fmt.Sprintf("%032x", i+1))
	}
	return g
}

func (g *generator) number(i int) *knm.Number {
	npa := g.npas[i%len(g.npas)]
	j := i / len(g.npas)
	line := 2_000_000 + (j*7919)%8_000_000 // NXX 200..999; 7919 is prime, so a permutation
	n := &knm.Number{Number: fmt.Sprintf("+1%s%07d", npa, line)}
	switch r := g.rng.IntN(100); {
	case r < 70:
		n.State = knm.StateAvailable
	case r < 85:
		n.State, n.AssignedTo, n.UsedBy = knm.StateInService, g.accounts[g.rng.IntN(len(g.accounts))], "callflow"
	case r < 95:
		n.State, n.AssignedTo = knm.StateReserved, g.accounts[g.rng.IntN(len(g.accounts))]
		n.ReserveHistory = []string{n.AssignedTo}
	default:
		n.State = knm.StateAging
	}
	switch r := g.rng.IntN(10); {
	case r < 4:
		n.SetModule("knm_local")
	case r < 7:
		n.SetModule("knm_voxbone")
		n.CarrierData = json.RawMessage(fmt.Sprintf(`{"didId":%d,"didGroupId":%d,"e164":"%s"}`, 100000+i, 4000+i%500,
			n.Number))
	case r < 9:
		n.SetModule("knm_inventory")
	default:
		n.SetModule("knm_managed")
	}
	return n
}

// useSchema creates schema in the PostgreSQL database of dsn and returns dsn with its
// search_path set to it, and a function that drops it.
func useSchema(ctx context.Context, dsn, schema string) (string, func()) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		log.Fatal("-schema needs a postgres:// database")
	}
	exec := func(sql string) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			log.Fatal(err)
		}
	}
	id := pgx.Identifier{schema}.Sanitize()
	exec("DROP SCHEMA IF EXISTS " + id + " CASCADE")
	exec("CREATE SCHEMA " + id)
	u, err := url.Parse(dsn)
	if err != nil {
		log.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { exec("DROP SCHEMA " + id + " CASCADE") }
}

// redact hides a password in a URL.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
