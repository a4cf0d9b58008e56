package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/config"
)

// settingKind says how a setting is typed in the form and stored.
type settingKind int

const (
	kindString settingKind = iota
	kindInt
	kindFloat
	kindBool
	kindChoice  // one of Choices
	kindModules // a list of carrier module names
	kindSecret  // shown as set or not set, never sent to the browser
)

// setting is one key of a settings form.
type setting struct {
	Key     string
	Aliases []string // other spellings knm accepts
	Label   string
	Help    string
	Kind    settingKind
	Default string // the code default, as JSON
	Choices []string
}

// settingsForms are the two categories the settings page edits, key by key (DESIGN §3).
var settingsForms = map[string][]setting{
	config.NumberManagerCategory: {
		{
			Key:     "carrier_modules",
			Label:   "Carrier modules",
			Help:    "Asked in this order by every search",
			Kind:    kindModules,
			Default: `["knm_local"]`,
		},
		{
			Key:     "number_search_timeout_ms",
			Label:   "Search timeout (ms)",
			Help:    "One deadline for a whole search",
			Kind:    kindInt,
			Default: "5000",
		},
		{Key: "maximum_search_quantity", Label: "Most numbers a search returns", Kind: kindInt, Default: "500"},
		{
			Key:     "available_module_name",
			Label:   "Module of numbers created available",
			Kind:    kindString,
			Default: `"knm_local"`,
		},
		{
			Key:     "released_state",
			Label:   "State of a released number",
			Kind:    kindChoice,
			Default: `"available"`,
			Choices: []string{"available", "released"},
		},
		{Key: "should_permanently_delete", Label: "Delete released numbers for good", Kind: kindBool, Default: "false"},
		{
			Key:     "should_age",
			Label:   "Released numbers age before they are available again",
			Kind:    kindBool,
			Default: "false",
		},
		{Key: "search_cache_ttl_s", Label: "Search cache lifetime (s)", Kind: kindInt, Default: "300"},
	},
	knmvoxbone.Category: {
		{Key: "username", Aliases: []string{"api_username"}, Label: "API user name", Kind: kindString, Default: `""`},
		{Key: "password", Aliases: []string{"api_password"}, Label: "API password", Kind: kindSecret, Default: `""`},
		{Key: "api_key", Label: "API key (beta environment)", Kind: kindSecret, Default: `""`},
		{
			Key:     "environment",
			Label:   "Environment",
			Kind:    kindChoice,
			Default: `"sandbox"`,
			Choices: []string{"production", "sandbox", "beta"},
		},
		{
			Key:     "base_url",
			Label:   "Base URL (replaces the environment's)",
			Help:    "For a proxy or the emulator; credentials in it are never shown",
			Kind:    kindString,
			Default: `""`,
		},
		{
			Key:     "page_size",
			Aliases: []string{"max_page_size"},
			Label:   "Page size of listings (1–5000)",
			Kind:    kindInt,
			Default: "20",
		},
		{Key: "rate_limit_rps", Label: "Requests per second, at most", Kind: kindInt, Default: "20"},
		{Key: "request_timeout_ms", Label: "Timeout per request (ms)", Kind: kindInt, Default: "15000"},
		{
			Key:     "search_mode",
			Label:   "Search mode",
			Help:    "order: a search buys what the pool lacks; pool: it only offers numbers bought before",
			Kind:    kindChoice,
			Default: `"order"`,
			Choices: []string{"order", "pool"},
		},
		{Key: "max_order_quantity", Label: "Most DIDs one search or order buys", Kind: kindInt, Default: "20"},
		{
			Key:     "max_order_cost",
			Label:   "Most one search or order spends (0: only the balance limits it)",
			Kind:    kindFloat,
			Default: "0",
		},
		{Key: "cart_ttl_minutes", Label: "Minutes before an unused cart is purged", Kind: kindInt, Default: "30"},
	},
}

// settingsCategories is the order the forms are shown in; the form's id is its anchor.
var settingsCategories = []string{config.NumberManagerCategory, knmvoxbone.Category}

// field is one setting with its current value, for the template.
type field struct {
	setting
	Name    string // form field name
	Value   string // as shown; never a secret
	On      bool   // kindBool
	Set     bool   // kindSecret: a value is stored
	List    []string
	Modules []string
	Err     string
}

// settingsSection is one category's form.
type settingsSection struct {
	Category string
	Anchor   string
	Fields   []field
	Errors   fieldErrors
	Saved    bool
}

// settings shows number_manager and number_manager.voxbone (their default sections) as
// forms; master only, as system_configs is in the API.
func (s *Server) settings(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if !me.SuperduperAdmin {
		return knm.Forbidden("master account only")
	}
	var secs []settingsSection
	for _, cat := range settingsCategories {
		sec, err := s.settingsSection(r.Context(), cat, nil, nil)
		if err != nil {
			return err
		}
		sec.Saved = r.URL.Query().Get("saved") == cat
		secs = append(secs, sec)
	}
	s.render(w, r, http.StatusOK, "settings", view{Title: "Settings", Nav: "settings", Me: me, Data: secs})
	return nil
}

// settingsSection reads a category's default section into its form; typed, when set,
// are the values the form was submitted with (shown again beside their errors).
func (s *Server) settingsSection(
	ctx context.Context,
	cat string,
	typed url.Values,
	errs fieldErrors,
) (settingsSection, error) {
	doc, err := s.store.GetConfig(ctx, "", cat)
	if err != nil && !knm.IsErrorName(err, knm.ErrNotFound) {
		return settingsSection{}, err
	}
	sec := settingsSection{Category: cat, Anchor: strings.ReplaceAll(cat, ".", "-"), Errors: errs}
	modules := s.moduleNames(ctx)
	for _, st := range settingsForms[cat] {
		raw := storedSetting(doc, st)
		f := field{setting: st, Name: st.Key, Err: errs[st.Key], Modules: modules}
		var str string
		json.Unmarshal(raw, &str)
		switch st.Kind {
		case kindSecret:
			f.Set = str != ""
		case kindBool:
			f.On = string(raw) == "true"
		case kindModules:
			json.Unmarshal(raw, &f.List)
			for _, m := range f.List {
				if !slices.Contains(f.Modules, m) {
					f.Modules = append(f.Modules, m)
				}
			}
		case kindString, kindChoice:
			f.Value = str
		default:
			f.Value = string(raw)
		}
		if st.Key == "base_url" {
			f.Value = redactURL(f.Value)
		}
		if typed != nil && st.Kind != kindSecret {
			f.Value, f.On, f.List = typed.Get(st.Key), typed.Get(st.Key) != "", typed[st.Key]
		}
		sec.Fields = append(sec.Fields, f)
	}
	return sec, nil
}

// storedSetting is a setting's value in the default section, under any spelling, else
// its code default.
func storedSetting(doc *knm.ConfigDoc, st setting) json.RawMessage {
	if doc != nil {
		var body struct {
			Default map[string]json.RawMessage `json:"default"`
		}
		if json.Unmarshal(doc.Body, &body) == nil {
			for _, k := range append([]string{st.Key}, st.Aliases...) {
				if v, ok := body.Default[k]; ok {
					return v
				}
			}
		}
	}
	return json.RawMessage(st.Default)
}

// redactURL hides the credentials of a URL, as config shows them.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.UserPassword("***", "***")
	return u.String()
}

// formValue turns a submitted field into the JSON to store, or nil when it leaves the
// setting as it is (an empty secret, a redacted URL sent back).
func formValue(st setting, form url.Values, current json.RawMessage) (json.RawMessage, error) {
	v := strings.TrimSpace(form.Get(st.Key))
	bad := func(msg string) error { return knm.Errorf(knm.ErrInvalid, "%s", msg).WithCause(st.Key) }
	var out any
	switch st.Kind {
	case kindSecret:
		if form.Get(st.Key+".clear") != "" {
			out = ""
		} else if v == "" {
			return nil, nil
		} else {
			out = v
		}
	case kindBool:
		out = v != ""
	case kindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, bad("must be a whole number")
		}
		out = n
	case kindFloat:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, bad("must be a number")
		}
		out = f
	case kindModules:
		list := form[st.Key]
		if list == nil {
			list = []string{}
		}
		out = list
	default:
		if st.Key == "base_url" && strings.Contains(v, "***") {
			return nil, nil
		}
		out = v
	}
	raw, _ := json.Marshal(out)
	if string(raw) == string(current) {
		return nil, nil
	}
	return raw, nil
}

// saveSettings applies a category's form, validated by config.Set with the rules knm reads
// each setting with. Errors are shown by their fields; only a form that passes whole is written.
func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	if !me.SuperduperAdmin {
		return knm.Forbidden("master account only")
	}
	cat := r.PathValue("category")
	fields, ok := settingsForms[cat]
	if !ok {
		return knm.Errorf(knm.ErrNotFound, "no settings form for %q", cat)
	}
	ctx := r.Context()
	cur, err := s.store.GetConfig(ctx, "", cat)
	if err != nil && !knm.IsErrorName(err, knm.ErrNotFound) {
		return err
	}
	mem := &memConfig{}
	if cur != nil {
		c := *cur
		mem.doc = &c
	}
	mc := config.New(mem, "", "")
	errs := fieldErrors{}
	for _, st := range fields {
		raw, err := formValue(st, r.PostForm, storedSetting(cur, st))
		if err == nil && raw != nil {
			err = mc.Set(ctx, cat, st.Key, raw, "")
		}
		if err != nil {
			errs[st.Key] = settingError(err, cat)
		}
	}
	if len(errs) == 0 && mem.doc != nil {
		next := *mem.doc
		next.Rev = 0
		if cur != nil {
			next.Rev = cur.Rev
		}
		err = s.store.PutConfig(ctx, &next)
		if knm.IsErrorName(err, knm.ErrConflict) {
			errs[""] = "the settings were changed meanwhile (by another instance or person); reload the page and try again"
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return s.renderSettingsErrors(w, r, me, cat, errs)
	}
	http.Redirect(
		w,
		r,
		"/settings?saved="+url.QueryEscape(cat)+"#"+strings.ReplaceAll(cat, ".", "-"),
		http.StatusSeeOther,
	)
	return nil
}

func (s *Server) renderSettingsErrors(
	w http.ResponseWriter,
	r *http.Request,
	me *knm.Account,
	cat string,
	errs fieldErrors,
) error {
	var secs []settingsSection
	for _, c := range settingsCategories {
		var typed url.Values
		var e fieldErrors
		if c == cat {
			typed, e = r.PostForm, errs
		}
		sec, err := s.settingsSection(r.Context(), c, typed, e)
		if err != nil {
			return err
		}
		secs = append(secs, sec)
	}
	s.render(w, r, http.StatusBadRequest, "settings", view{Title: "Settings", Nav: "settings", Me: me, Data: secs})
	return nil
}

// settingError is the part of a validation error that concerns the field.
func settingError(err error, cat string) string {
	msg := errorText(err)
	if i := strings.Index(msg, "invalid "+cat+": "); i >= 0 {
		msg = msg[i+len("invalid "+cat+": "):]
	}
	return msg
}

// memConfig is a knm.ConfigStore holding one document in memory: the settings form is
// applied to a copy of the stored document, key by key, before anything is written.
type memConfig struct{ doc *knm.ConfigDoc }

func (m *memConfig) GetConfig(_ context.Context, _, id string) (*knm.ConfigDoc, error) {
	if m.doc == nil || m.doc.ID != id {
		return nil, knm.Errorf(knm.ErrNotFound, "config %s not found", id)
	}
	c := *m.doc
	return &c, nil
}

func (m *memConfig) PutConfig(_ context.Context, d *knm.ConfigDoc) error {
	c := *d
	c.Rev++
	m.doc = &c
	return nil
}

func (m *memConfig) ImportConfigs(context.Context, []*knm.ConfigDoc) error { return nil }

func (m *memConfig) ListConfigs(context.Context, string) ([]*knm.ConfigDoc, error) { return nil, nil }

// How the template draws a field.
func (f field) IsBool() bool    { return f.Kind == kindBool }
func (f field) IsModules() bool { return f.Kind == kindModules }
func (f field) IsSecret() bool  { return f.Kind == kindSecret }
func (f field) IsChoice() bool  { return f.Kind == kindChoice }
func (f field) IsNumber() bool  { return f.Kind == kindInt || f.Kind == kindFloat }
