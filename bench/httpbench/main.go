// Command httpbench loads a running `knm serve` over HTTP and reports requests per second
// and latency percentiles for one route.
//
//	httpbench -url http://127.0.0.1:8000 -api-key KEY -scenario read -c 32 -d 10s
//
// Scenarios: "read" (GET /v2/accounts/{A}/phone_numbers/{N}, after creating N in_service
// for the master account) and "search" (a pool-only search: GET …/phone_numbers?prefix=
// served by knm_local/knm_inventory rows already in the database).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knmproject/knm/bench/internal/latency"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8000", "knm base URL")
	key := flag.String("api-key", os.Getenv("KNM_MASTER_API_KEY"), "master API key")
	scenario := flag.String("scenario", "read", "read or search")
	conc := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	if err := bench(*base, *key, *scenario, *conc, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
}

func do(c *http.Client, method, url, token, body string) (map[string]json.RawMessage, int, error) {
	req, _ := http.NewRequest(method, url, bytes.NewBufferString(body))
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]json.RawMessage
	json.Unmarshal(raw, &env)
	return env, resp.StatusCode, nil
}

func str(raw json.RawMessage, key string) string {
	var m map[string]any
	json.Unmarshal(raw, &m)
	s, _ := m[key].(string)
	return s
}

func bench(base, key, scenario string, conc int, dur time.Duration) error {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	env, code, err := do(c, "PUT", base+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	if err != nil || code != 201 {
		return fmt.Errorf("api_auth: %d %v", code, err)
	}
	var tok string
	json.Unmarshal(env["auth_token"], &tok)
	acc := str(env["data"], "account_id")
	var target string
	switch scenario {
	case "read":
		num := "+14155550199"
		do(c, "PUT", base+"/v2/accounts/"+acc+"/phone_numbers/"+num, tok, `{"data":{"create_with_state":"in_service"}}`)
		target = base + "/v2/accounts/" + acc + "/phone_numbers/%2B14155550199"
	case "search":
		// Pool-only: local numbers already in the database; knm_local finds them without
		// any carrier call.
		for i := range 20 {
			do(c, "PUT", fmt.Sprintf("%s/v2/accounts/%s/phone_numbers/%%2B1312555%04d", base, acc, i), tok,
				`{"data":{"create_with_state":"available"}}`)
		}
		target = base + "/v2/accounts/" + acc + "/phone_numbers?prefix=312&quantity=5&country=US"
	default:
		return fmt.Errorf("unknown scenario %q", scenario)
	}
	if _, code, err := do(c, "GET", target, tok, ""); err != nil || code != 200 {
		return fmt.Errorf("warm-up %s: %d %v", target, code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    atomic.Int64
		wg      sync.WaitGroup
		started = time.Now()
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", target, nil)
				req.Header.Set("X-Auth-Token", tok)
				resp, err := c.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return latency.Percentile(lat, p) }
	fmt.Printf("scenario=%s conc=%d duration=%s requests=%d errors=%d rps=%.0f p50=%s p99=%s max=%s\n",
		scenario, conc, elapsed.Round(time.Millisecond), len(lat), errs.Load(), float64(len(lat))/elapsed.Seconds(),
		pct(0.50), pct(0.99), pct(1))
	return nil
}
