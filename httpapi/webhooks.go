package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/webhooks"
)

const webhookPath = "/v2/accounts/{account_id}/webhooks/{webhook_id}"

const webhookSchemas = `{
 "Webhook": {"type": "object", "required": ["id", "name", "uri", "http_verb", "hook", "enabled",
   "include_subaccounts", "custom_data", "max_concurrency", "pending_deliveries", "consecutive_failures"],
   "not": {"required": ["secret"]}, "properties": {
   "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "account_id": {"type": "string"}, "name": {"type": "string"},
   "uri": {"type": "string"}, "http_verb": {"type": "string", "enum": ["post", "put"]}, "hook": {"type": "string"},
   "enabled": {"type": "boolean"}, "include_subaccounts": {"type": "boolean"},
   "custom_data": {"type": "object", "additionalProperties": {"type": "string"}},
   "max_concurrency": {"type": "integer", "minimum": 1},
   "disable_reason": {"type": "string", "description": "present when knm disabled the hook after consecutive failures"},
   "pending_deliveries": {"type": "integer"}, "consecutive_failures": {"type": "integer"},
   "last_error": {"type": "string"}, "last_attempt": {"type": "string", "format": "date-time"},
   "last_success": {"type": "string", "format": "date-time"},
   "created": {"type": "string", "format": "date-time"}, "modified": {"type": "string", "format": "date-time"}}},
 "WebhookWithSecret": {"type": "object", "required": ["id", "secret"], "properties": {
   "id": {"type": "string"},
   "secret": {"type": "string", "description": "the HMAC-SHA256 signing key; shown only in this reply"}}},
 "Webhooks": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}},
 "WebhookSettings": {"type": "object", "properties": {
   "name": {"type": "string"}, "uri": {"type": "string", "description": "http:// or https://, no credentials"},
   "http_verb": {"type": "string", "enum": ["post", "put"]}, "hook": {"type": "string", "enum": ["numbers", "all"]},
   "include_subaccounts": {"type": "boolean"}, "enabled": {"type": "boolean"},
   "custom_data": {"type": "object", "additionalProperties": {"type": "string"}},
   "max_concurrency": {"type": "integer", "minimum": 1, "maximum": 32}}},
 "WebhookCreate": {"type": "object", "required": ["data"], "properties": {"data": {"allOf": [
   {"$ref": "#/components/schemas/WebhookSettings"}, {"type": "object", "required": ["name", "uri"]}]}}},
 "WebhookPatch": {"type": "object", "required": ["data"], "properties": {
   "data": {"$ref": "#/components/schemas/WebhookSettings"}}}
}`

// webhookAccount is the {account_id} of a webhook route, checked: only resellers and the
// master manage hooks, on their own account or one below it.
func (s *Server) webhookAccount(r *http.Request) (*knm.Account, error) {
	if me := caller(r); !me.Reseller && !me.SuperduperAdmin {
		return nil, knm.Forbidden("only resellers and the master account manage webhooks")
	}
	return s.scopedAccount(r)
}

// pathWebhook loads the {webhook_id} of the route's account (404 for another account's).
func (s *Server) pathWebhook(r *http.Request) (*knm.Webhook, error) {
	acc, err := s.webhookAccount(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("webhook_id")
	if !knm.ValidAccountID(id) {
		return nil, knm.Errorf(knm.ErrInvalid, "webhook id must be 32 hexadecimal characters").WithCause("webhook_id")
	}
	h, err := s.store.GetWebhook(r.Context(), id)
	if err == nil && h.AccountID != acc.ID {
		err = &knm.Error{Name: knm.ErrNotFound, Message: "webhook " + id + " not found", Cause: id}
	}
	return h, err
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	acc, err := s.webhookAccount(r)
	if err != nil {
		return err
	}
	hooks, err := s.store.FindWebhooks(r.Context(), knm.WebhookFilter{AccountID: acc.ID})
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(hooks))
	for i, h := range hooks {
		out[i] = webhooks.View(h)
	}
	s.writeData(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := s.pathWebhook(r)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, webhooks.View(h))
	return nil
}

// webhookSettings is a request body's settings; absent fields are nil.
type webhookSettings struct {
	Name               *string         `json:"name"`
	URI                *string         `json:"uri"`
	HTTPVerb           *string         `json:"http_verb"`
	Hook               *string         `json:"hook"`
	IncludeSubaccounts *bool           `json:"include_subaccounts"`
	Enabled            *bool           `json:"enabled"`
	CustomData         json.RawMessage `json:"custom_data"`
	MaxConcurrency     *int            `json:"max_concurrency"`
}

// apply copies the fields present onto h; custom_data null removes it.
func (b webhookSettings) apply(h *knm.Webhook) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&h.Name, b.Name)
	set(&h.URI, b.URI)
	set(&h.HTTPVerb, b.HTTPVerb)
	set(&h.Hook, b.Hook)
	if b.IncludeSubaccounts != nil {
		h.IncludeSubaccounts = *b.IncludeSubaccounts
	}
	if b.Enabled != nil {
		h.Enabled = *b.Enabled
	}
	if b.MaxConcurrency != nil {
		h.MaxConcurrency = *b.MaxConcurrency
	}
	if raw := bytes.TrimSpace(b.CustomData); len(raw) > 0 {
		var cd map[string]string
		if err := json.Unmarshal(raw, &cd); err != nil {
			return knm.Errorf(knm.ErrInvalid, "custom_data must be an object of strings").WithCause("custom_data")
		}
		h.CustomData = cd
	}
	return nil
}

// createWebhook is PUT /v2/accounts/{A}/webhooks: the reply is the only place the new
// hook's signing secret is ever shown.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	acc, err := s.webhookAccount(r)
	if err != nil {
		return err
	}
	var body webhookSettings
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	tmpl := knm.Webhook{Enabled: true}
	if err := body.apply(&tmpl); err != nil {
		return err
	}
	h, err := webhooks.New(acc.ID, tmpl)
	if err != nil {
		return err
	}
	if err := s.store.CreateWebhook(r.Context(), h); err != nil {
		return err
	}
	out := webhooks.View(h)
	out["secret"] = h.Secret
	s.writeData(w, r, http.StatusCreated, out)
	return nil
}

// replaceWebhook is POST …/webhooks/{id}: Kazoo's edit, the body is the whole hook.
func (s *Server) replaceWebhook(w http.ResponseWriter, r *http.Request) error {
	return s.editWebhook(w, r, func(h *knm.Webhook, body webhookSettings) error {
		fresh := knm.Webhook{Enabled: true}
		if err := body.apply(&fresh); err != nil {
			return err
		}
		h.Name, h.URI, h.HTTPVerb, h.Hook = fresh.Name, fresh.URI, fresh.HTTPVerb, fresh.Hook
		h.IncludeSubaccounts, h.Enabled, h.CustomData = fresh.IncludeSubaccounts, fresh.Enabled, fresh.CustomData
		h.MaxConcurrency = fresh.MaxConcurrency
		return nil
	})
}

// patchWebhook is PATCH …/webhooks/{id}: only the fields sent change.
func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	return s.editWebhook(w, r, func(h *knm.Webhook, body webhookSettings) error { return body.apply(h) })
}

// editWebhook applies edit to the stored hook, checks the result and stores it under its
// revision, re-reading when the delivery worker changed the hook meanwhile.
func (s *Server) editWebhook(w http.ResponseWriter, r *http.Request,
	edit func(*knm.Webhook, webhookSettings) error) error {
	var body webhookSettings
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	for range 8 {
		h, err := s.pathWebhook(r)
		if err != nil {
			return err
		}
		if err := edit(h, body); err != nil {
			return err
		}
		if err := webhooks.Check(h); err != nil {
			return err
		}
		err = s.store.UpdateWebhook(r.Context(), h)
		if knm.IsErrorName(err, knm.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		if h, err = s.store.GetWebhook(r.Context(), h.ID); err != nil {
			return err
		}
		s.writeData(w, r, http.StatusOK, webhooks.View(h))
		return nil
	}
	return knm.Conflict("webhook " + r.PathValue("webhook_id"))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := s.pathWebhook(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(r.Context(), h.ID); err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, webhooks.View(h))
	return nil
}
