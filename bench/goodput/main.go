// Command goodput measures what the Voxbone client achieves against a rate-limited API:
// successful requests per second, 429/509 answers, and latency percentiles.
//
// By default it starts the emulator on 127.0.0.1 enforcing -rps requests per second per
// IP; -url targets another server instead (credentials from VOXBONE_USER and
// VOXBONE_PASSWORD). -redis shares the limiter through Redis rather than in-process.
//
//	go run ./bench/goodput -c 50 -d 30s
//	go run ./bench/goodput -redis 127.0.0.1:6379
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/knmproject/knm/bench/internal/latency"
	"github.com/knmproject/knm/ratelimit"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

func main() {
	var (
		target   = flag.String("url", "", "base URL of the API (default: start the emulator on 127.0.0.1)")
		rps      = flag.Int("rps", 20, "rate limit, requests per second")
		callers  = flag.Int("c", 50, "concurrent callers")
		duration = flag.Duration("d", 30*time.Second, "how long to run")
		redisURL = flag.String("redis", "", "Redis host:port to share the limiter through (default: in-process)")
		spacing  = flag.Bool("pace", false, "pace grants evenly (Spacing = 1s/rps); off by default, as in the limiters")
	)
	flag.Parse()
	if err := run(*target, *rps, *callers, *duration, *redisURL, *spacing); err != nil {
		log.Fatal(err)
	}
}

// limiter is the rate limiter under test: shared through Redis when redisAddr is set, else
// local; pace spaces the grants evenly. The returned func releases its Redis client.
func limiter(redisAddr string, rps int, pace bool) (ratelimit.Limiter, func()) {
	var spacing time.Duration
	if pace {
		spacing = time.Second / time.Duration(rps)
	}
	if redisAddr == "" {
		l := ratelimit.NewLocal(rps)
		l.Spacing = spacing
		return l, func() {}
	}
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	r := ratelimit.NewRedis(rc, "knm:bench:goodput", rps)
	r.Spacing = spacing
	return r, func() { rc.Close() }
}

func run(target string, rps, callers int, d time.Duration, redisAddr string, pace bool) error {
	user, pass := os.Getenv("VOXBONE_USER"), os.Getenv("VOXBONE_PASSWORD")
	if target == "" {
		user, pass = "bench", "bench"
		e := emulator.New(emulator.Config{Username: user, Password: pass, RateLimit: rps, Seed: 1})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		target = "http://" + ln.Addr().String() + strings.TrimSuffix(emulator.BasePath, "/")
	}

	lim, closeLimiter := limiter(redisAddr, rps, pace)
	defer closeLimiter()
	c, err := voxbone.New(voxbone.WithBaseURL(target), voxbone.WithBasicAuth(user, pass), voxbone.WithLimiter(lim),
		voxbone.WithRetryPolicy(voxbone.RetryPolicy{})) // count every 429 rather than hide it in retries
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		limited   int
		failed    int
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range callers {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				_, err := c.AccountBalance(ctx)
				lat := time.Since(t0)
				mu.Lock()
				switch {
				case err == nil:
					latencies = append(latencies, lat)
				case voxbone.IsRateLimited(err):
					limited++
				case ctx.Err() == nil:
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latency.Percentile(latencies, p) }
	fmt.Printf("target %s, %d callers, %v, limit %d rps (redis=%v, paced=%v)\n", target, callers,
		elapsed.Round(time.Millisecond), rps, redisAddr != "", pace)
	fmt.Printf("ok %d (%.2f req/s)  429/509 %d  other errors %d\n", len(latencies),
		float64(len(latencies))/elapsed.Seconds(), limited, failed)
	fmt.Printf("latency (incl. limiter wait) p50 %v  p99 %v\n", pct(0.50).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond))
	return nil
}
