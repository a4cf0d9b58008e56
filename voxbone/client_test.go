package voxbone_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone"
)

// baseURLPath is deliberately non-empty so that a request built from an absolute path
// instead of the base URL misses the handlers.
const baseURLPath = "/api/ws-voxbone/services/rest"

const (
	testUser     = "apiuser"
	testPassword = "pa55-s3cr3t-w0rd"
	testAPIKey   = "k3y-0f-the-b3ta"
)

// fastRetries keeps retry tests quick.
var fastRetries = voxbone.RetryPolicy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}

// setup starts a 127.0.0.1 server whose API is mounted under baseURLPath and returns a
// client for it (basic auth, fast retries, plus opts) and the mux to register handlers on.
func setup(t *testing.T, opts ...voxbone.Option) (*voxbone.Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	root := http.NewServeMux()
	root.Handle(baseURLPath+"/", http.StripPrefix(baseURLPath, mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base path: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside base path", http.StatusBadRequest)
	})
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	all := append([]voxbone.Option{
		voxbone.WithBaseURL(srv.URL + baseURLPath + "/"),
		voxbone.WithBasicAuth(testUser, testPassword),
		voxbone.WithRetryPolicy(fastRetries),
	}, opts...)
	c, err := voxbone.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	return c, mux
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

// testQuery checks the decoded query values exactly.
func testQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	got := r.URL.Query()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("query = %v, want %v", got, want)
	}
}

// testBody checks that the request body is JSON equal to want.
func testBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want == "" {
		if len(b) != 0 {
			t.Errorf("body = %s, want none", b)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", b, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serveJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

func serveFixture(t *testing.T, name string) http.HandlerFunc {
	b := fixture(t, name)
	return func(w http.ResponseWriter, r *http.Request) { serveJSON(w, string(b)) }
}

// counting wraps h and counts the requests it serves.
func counting(n *atomic.Int32, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}
}

func TestNewEnvironments(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]string{
		"production": "https://api.voxbone.com/ws-voxbone/services/rest/",
		"sandbox":    "https://sandbox.voxbone.com/ws-voxbone/services/rest/",
		"beta":       "https://beta.voxbone.com/ws-voxbone/services/rest/",
	} {
		c, err := voxbone.New(voxbone.WithEnvironment(env))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.BaseURL(); got != want {
			t.Errorf("%s: BaseURL = %s, want %s", env, got, want)
		}
	}
	c, err := voxbone.New()
	if err != nil || c.BaseURL() != voxbone.SandboxURL+"/" {
		t.Errorf("default = %v, %v; want sandbox", c, err)
	}
	if _, err := voxbone.New(voxbone.WithEnvironment("staging")); err == nil || !strings.Contains(err.Error(), `"staging"`) {
		t.Errorf("unknown environment: err = %v", err)
	}
}

func TestNewBadOptions(t *testing.T) {
	t.Parallel()
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	for name, opt := range map[string]voxbone.Option{
		"page size 0":        voxbone.WithPageSize(0),
		"page size 5001":     voxbone.WithPageSize(5001),
		"relative base":      voxbone.WithBaseURL("/ws-voxbone/services/rest"),
		"ftp base":           voxbone.WithBaseURL("ftp://example.com/rest"),
		"base with query":    voxbone.WithBaseURL("https://example.com/rest?x=1"),
		"credentials in URL": voxbone.WithBaseURL("https://user:" + testPassword + "@example.com/rest"),
		"bad URL":            voxbone.WithBaseURL("http://user:" + testPassword + "@[::1"),
		"no scheme, creds":   voxbone.WithBaseURL("user:" + testPassword + "@api.voxbone.com/ws"),
		"query and creds":    voxbone.WithBaseURL("https://u:" + testPassword + "@example.com/rest?x=1"),
		"insecure TLS":       voxbone.WithHTTPClient(insecure),
		"nil HTTP client":    voxbone.WithHTTPClient(nil),
		"zero timeout":       voxbone.WithRequestTimeout(0),
		"negative retries":   voxbone.WithRetryPolicy(voxbone.RetryPolicy{MaxRetries: -1}),
		"nil logger":         voxbone.WithLogger(nil),
	} {
		_, err := voxbone.New(opt)
		if err == nil {
			t.Errorf("%s: New succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
	}
}

func TestBaseURLTrailingSlash(t *testing.T) {
	t.Parallel()
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		serveJSON(w, `{"features":[]}`)
	}))
	defer srv.Close()
	for _, base := range []string{srv.URL + "/x/rest", srv.URL + "/x/rest/"} {
		c, err := voxbone.New(voxbone.WithBaseURL(base))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListFeatures(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(paths, []string{"/x/rest/inventory/feature", "/x/rest/inventory/feature"}) {
		t.Errorf("paths = %q", paths)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, voxbone.WithUserAgent("knm-test/1"), voxbone.WithAPIKey(testAPIKey))
	mux.HandleFunc("GET /inventory/zone", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != testUser || p != testPassword {
			t.Errorf("basic auth = %q, %q, %v", u, p, ok)
		}
		for k, want := range map[string]string{"Accept": "application/json", "User-Agent": "knm-test/1", "Apikey": testAPIKey} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		serveJSON(w, `{"zone":["WORLD"]}`)
	})
	if _, err := c.ListZones(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestObserver(t *testing.T) {
	t.Parallel()
	type obs struct {
		endpoint string
		status   int
	}
	var got []obs
	c, mux := setup(t, voxbone.WithObserver(func(e string, s int, d time.Duration) {
		if d < 0 {
			t.Errorf("negative duration")
		}
		got = append(got, obs{e, s})
	}))
	var n atomic.Int32
	mux.HandleFunc("GET /ordering/cart/{id}/checkout", counting(&n, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		serveJSON(w, `{"errors":[{"apiErrorCode":"401","apiErrorMessage":"empty"}]}`)
	}))
	_, _ = c.Checkout(t.Context(), 7)
	want := []obs{{"GET ordering/cart/{cartIdentifier}/checkout", 400}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

func TestResponseBodyLimit(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, voxbone.WithRetryPolicy(voxbone.RetryPolicy{}))
	mux.HandleFunc("GET /inventory/feature", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, `{"features":[],"pad":"`)
		chunk := strings.Repeat("x", 1<<20)
		for range voxbone.MaxResponseBytes>>20 + 1 {
			io.WriteString(w, chunk)
		}
		io.WriteString(w, `"}`)
	})
	_, err := c.ListFeatures(t.Context())
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want body limit error", err)
	}
}
