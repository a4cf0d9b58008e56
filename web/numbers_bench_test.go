package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// benchNumbers is how many numbers the numbers-table benchmark stores.
const benchNumbers = 100_000

// BenchmarkNumbersPage renders the numbers table over 100k numbers in SQLite, in the
// server only (no network): the default first page, a filtered page, deep pages by their
// number (OFFSET) and by the Next, Last and Previous links (keyset), descending by number,
// and by state (first page, a deep page by number and by Next). It reports p50 and p99 per
// page in milliseconds.
//
//	go test -run '^$' -bench NumbersPage -benchtime 200x ./web/
func BenchmarkNumbersPage(b *testing.B) {
	e := newEnv(&testing.T{}, false)
	defer e.srv.Close()
	states := []knm.State{knm.StateAvailable, knm.StateInService, knm.StateReserved, knm.StateAging}
	ns := make([]*knm.Number, benchNumbers)
	for i := range ns {
		n := &knm.Number{Number: fmt.Sprintf("+1415%07d", i), State: states[i%len(states)], ModuleName: "knm_inventory"}
		if n.State != knm.StateAvailable && n.State != knm.StateAging {
			n.AssignedTo, n.ReserveHistory = e.masterID, []string{e.masterID}
		}
		ns[i] = n
	}
	if _, err := e.store.ImportNumbers(b.Context(), ns); err != nil {
		b.Fatal(err)
	}
	// Measure the steady state, not the collection of the import's garbage.
	ns = nil
	runtime.GC()
	cookie := sessionFor(b, e)
	for _, c := range []struct{ name, page string }{
		{"first", "/numbers"},
		{"filtered", "/numbers?state=in_service&prefix=%2B14150"},
		{"last", "/numbers?page=2000"},
		{"next-to-last", "/numbers?page=2000&after=%2B14150099949"},
		{"last-link", "/numbers?page=2000&last=1"},
		{"previous-link", "/numbers?page=1000&before=%2B14150050000"},
		{"descending", "/numbers?sort=-number"},
		{"descending-page-1000", "/numbers?sort=-number&page=1000"},
		{"by-state", "/numbers?sort=state&page=1000"},
		{"by-state-first", "/numbers?sort=state"},
		{"by-state-next", "/numbers?sort=state&page=1000&after=in_service%3A%2B14150049997"},
		{"by-state-last-link", "/numbers?sort=state&page=2000&last=1"},
		{"reverse-state-first", "/numbers?sort=-state"},
	} {
		page := c.page
		b.Run(c.name, func(b *testing.B) {
			var took, cpu []time.Duration
			for range 5 { // warm up: the first requests fill caches (templates' national forms, SQLite pages)
				req := httptest.NewRequest("GET", page, nil)
				req.AddCookie(cookie)
				e.web.Handler().ServeHTTP(httptest.NewRecorder(), req)
			}
			for b.Loop() {
				req := httptest.NewRequest("GET", page, nil)
				req.AddCookie(cookie)
				req.Header.Set("Accept-Encoding", "gzip")
				rec := httptest.NewRecorder()
				start, cpu0 := time.Now(), processCPU()
				e.web.Handler().ServeHTTP(rec, req)
				took, cpu = append(took, time.Since(start)), append(cpu, processCPU()-cpu0)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", page, rec.Code)
				}
			}
			slices.Sort(took)
			slices.Sort(cpu)
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
			b.ReportMetric(ms(cpu[len(cpu)/2]), "p50-cpu-ms")
			b.ReportMetric(ms(cpu[len(cpu)*99/100]), "p99-cpu-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// processCPU is the CPU time the process has used (user and system): unlike wall time it
// does not grow while the machine is busy with other work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sessionFor signs the master in and returns its session cookie.
func sessionFor(b *testing.B, e *env) *http.Cookie {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/signin", nil)
	if _, err := e.web.sess.open(rec, req, e.masterID); err != nil {
		b.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}
