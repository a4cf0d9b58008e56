package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/knmproject/knm"
)

// pageTemplate is the layout parsed together with one page's templates.
type pageTemplate struct{ t *template.Template }

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string // the nav entry to mark current
	Me     *knm.Account
	CSRF   string
	Notice string // a one-line success message
	Data   any
}

// parsePages parses templates/pages/*.html, each with the layout and the shared partials.
func parsePages(assets *assetSet) (map[string]*pageTemplate, error) {
	funcs := templateFuncs(assets)
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, p := range names {
		t, err := template.New("layout.html").
			Funcs(funcs).
			ParseFS(files, "templates/layout.html", "templates/partials.html", p)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", p, err)
		}
		out[strings.TrimSuffix(path.Base(p), ".html")] = &pageTemplate{t: t}
	}
	return out, nil
}

func templateFuncs(assets *assetSet) template.FuncMap {
	return template.FuncMap{
		"asset":    assets.URL,
		"national": nationalForm,
		"label":    func(s any) string { return strings.ReplaceAll(fmt.Sprint(s), "_", " ") },
		"money":    money,
		"when":     when,
		"short":    func(s string) string { return s[:min(len(s), 8)] },
		"add":      func(a, b int) int { return a + b },
		"mul":      func(a, b int) int { return a * b },
		"query":    func(v url.Values) template.URL { return template.URL(v.Encode()) },
		"pretty":   prettyJSON,
		"contains": func(list []string, s string) bool { return contains(list, s) },
		"module":   knm.CarrierModuleShortName,
		// trimEvent is an event type without its "number." prefix: "assigned", "state_changed".
		"trimEvent":    func(t knm.EventType) string { return strings.TrimPrefix(string(t), "number.") },
		"eventChanges": eventChanges,
	}
}

// eventChanges names what an event changed: the private fields, then the public ones.
func eventChanges(e *knm.Event) string {
	names := make([]string, 0, len(e.Changed)+len(e.Public))
	for _, f := range e.Changed {
		names = append(names, strings.ReplaceAll(f, "_", " "))
	}
	for _, k := range slices.Sorted(maps.Keys(e.Public)) {
		names = append(names, k)
	}
	if len(names) == 0 {
		return "—"
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nationalForm writes an E.164 number as dialled inside its country, e.g. "(256) 555-0100",
// or "" for an unknown country. Results are cached (up to nationalCacheSize) because parsing is slow.
func nationalForm(e164 string) string {
	nationalMu.Lock()
	s, ok := nationalCache[e164]
	nationalMu.Unlock()
	if ok {
		return s
	}
	if n, err := phonenumbers.Parse(e164, ""); err == nil {
		s = phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	nationalMu.Lock()
	if len(nationalCache) >= nationalCacheSize {
		clear(nationalCache)
	}
	nationalCache[e164] = s
	nationalMu.Unlock()
	return s
}

const nationalCacheSize = 20_000

var (
	nationalMu    sync.Mutex
	nationalCache = map[string]string{}
)

// money shows cents as an amount with its currency.
func money(cents int, currency string) string {
	return strings.TrimSpace(fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency))
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func prettyJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if len(raw) == 0 || json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// render executes page name into a buffer first, so a template error becomes an error
// page rather than half a page, and gzips it when the browser accepts that.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if v.CSRF == "" && v.Me != nil {
		if se, ok := s.sess.read(r); ok {
			v.CSRF = s.sess.csrfToken(r.Context(), se.ID)
		}
	}
	pt, ok := s.pages[name]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("web: no page %q", name)
	} else {
		err = pt.t.Execute(&buf, v)
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "web: render failed", "page", name, "error", err)
		if name != "error" {
			s.renderError(w, r, v.Me, errors.New("render"))
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeHTML(w, r, status, buf.Bytes())
}

// gzipWriters are reused: a new gzip writer allocates and clears about a megabyte of
// compressor state, which cost more than rendering a 50-row table.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// writeHTML writes a page, gzipped when it is worth it and accepted.
func writeHTML(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Add("Vary", "Accept-Encoding")
	if len(body) > 1400 && acceptsGzip(r) {
		var zb bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&zb)
		zw.Write(body)
		if zw.Close() == nil {
			h.Set("Content-Encoding", "gzip")
			body = zb.Bytes()
		}
		gzipWriters.Put(zw)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// errorView is the error page's data.
type errorView struct {
	Status  int
	Name    string
	Message string
	Cause   string
	Back    string
}

// renderError shows err as a page with a clear message: a knm error with its name,
// message and cause and its HTTP status; anything else as an internal error whose details
// go to the log only.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, me *knm.Account, err error) {
	ev := errorView{Status: http.StatusInternalServerError, Name: string(knm.ErrInternal),
		Message: "Something went wrong on the server. The details are in knm's log.", Back: refererPath(r)}
	var ke *knm.Error
	if errors.As(err, &ke) {
		ev.Status, ev.Name, ev.Message, ev.Cause = ke.Status(), string(ke.Name), ke.Message, ke.Cause
		if ev.Message == "" {
			ev.Message = ev.Name
		}
		if ev.Cause != "" && strings.Contains(ev.Message, ev.Cause) {
			ev.Cause = ""
		}
	}
	if ev.Status >= 500 {
		s.logger.ErrorContext(r.Context(), "web: request failed", "path", r.URL.Path, "error", err)
	}
	s.render(w, r, ev.Status, "error", view{Title: "Error", Me: me, Data: ev})
}

// fieldErrors maps a form field to the message shown next to it.
type fieldErrors map[string]string

// fieldError files err under its cause when that names a field of the form, else under
// "" (shown above the form). A non-knm error is returned for the error page.
func fieldError(err error, fields ...string) (fieldErrors, error) {
	var ke *knm.Error
	if !errors.As(err, &ke) || ke.Status() >= 500 {
		return nil, err
	}
	msg := ke.Message
	if msg == "" {
		msg = string(ke.Name)
	}
	for _, f := range fields {
		if ke.Cause == f {
			return fieldErrors{f: msg}, nil
		}
	}
	if ke.Cause != "" && !strings.Contains(msg, ke.Cause) {
		msg += " (" + ke.Cause + ")"
	}
	return fieldErrors{"": msg}, nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
