package httpapi

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
)

// extraSchemas are the OpenAPI components of the event and webhook routes.
var extraSchemas = []string{eventSchemas, webhookSchemas}

const eventSchemas = `{
 "Event": {"type": "object", "required": ["id", "type", "number", "account_before", "account_after",
   "state_before", "state_after", "changed", "timestamp"], "properties": {
   "id": {"type": "integer", "minimum": 1},
   "type": {"type": "string", "enum": ["number.created", "number.imported", "number.assigned", "number.moved",
     "number.released", "number.state_changed", "number.features_changed", "number.updated", "number.deleted"]},
   "number": {"type": "string", "pattern": "^\\+[0-9]+$"},
   "account_before": {"type": "string"}, "account_after": {"type": "string"},
   "state_before": {"type": "string"}, "state_after": {"type": "string"},
   "module_name": {"type": "string"}, "rev": {"type": "integer"},
   "changed": {"type": "array", "items": {"type": "string"}},
   "public": {"type": "object"},
   "timestamp": {"type": "string", "format": "date-time"}}},
 "Events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
}`

// Bounds of GET /v2/events.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
	// streamPoll is how often a stream looks for new events; streamHeartbeat how often an
	// idle stream sends a comment, so proxies and clients see the connection alive.
	streamPoll      = 250 * time.Millisecond
	streamHeartbeat = 15 * time.Second
)

func (s *Server) eventRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v2/events", Auth: authRequired, Reply: "Events", handle: s.events,
			Summary: "number events the caller may see, oldest first; the reply's next_since continues. With Accept: " +
				"text/event-stream, a stream of them (SSE: id, event type, JSON data), resumable with Last-Event-ID",
			Query: []queryParam{
				{Name: "since", Type: "integer", Doc: "only events with a larger id (default 0)"},
				{Name: "limit", Type: "integer", Doc: "most events, 1-1000 (default 100)"},
			}},
		{Method: "GET", Path: "/v2/accounts/{account_id}/webhooks", Auth: authRequired, Reply: "Webhooks",
			handle: s.listWebhooks, Summary: "the account's webhooks (resellers and master)"},
		{Method: "PUT", Path: "/v2/accounts/{account_id}/webhooks", Auth: authRequired, Body: "WebhookCreate",
			Reply: "WebhookWithSecret", Status: http.StatusCreated, handle: s.createWebhook,
			Summary: "create a webhook (resellers and master); its signing secret is shown once, here"},
		{Method: "GET", Path: webhookPath, Auth: authRequired, Reply: "Webhook", handle: s.getWebhook,
			Summary: "one webhook, with its delivery state and disable_reason"},
		{Method: "POST", Path: webhookPath, Auth: authRequired, Body: "WebhookCreate", Reply: "Webhook",
			handle: s.replaceWebhook, Summary: "replace a webhook's settings; enabled: true re-enables a disabled one"},
		{Method: "PATCH", Path: webhookPath, Auth: authRequired, Body: "WebhookPatch", Reply: "Webhook",
			handle: s.patchWebhook, Summary: "change some of a webhook's settings, e.g. {\"enabled\": true}"},
		{Method: "DELETE", Path: webhookPath, Auth: authRequired, Reply: "Webhook", handle: s.deleteWebhook,
			Summary: "delete a webhook and its pending deliveries"},
	}
}

// eventsEnvelope is the success envelope of GET /v2/events: next_since is where to
// continue, past events the caller may not see.
type eventsEnvelope struct {
	envelope
	NextSince int64 `json:"next_since"`
}

// events is GET /v2/events, or its stream when the client accepts text/event-stream.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := int64Param(q.Get("since"), "since")
	if err != nil {
		return err
	}
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		if since, err = int64Param(last, "Last-Event-ID"); err != nil {
			return err
		}
	}
	limit, err := intParam(q, "limit", defaultEventLimit, 1, maxEventLimit)
	if err != nil {
		return err
	}
	if acceptsEventStream(r) {
		return s.streamEvents(w, r, since)
	}
	evs, next, err := s.mgr.Events(r.Context(), caller(r).ID, since, limit)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []*knm.Event{}
	}
	e := eventsEnvelope{envelope: s.baseEnvelope(r, "success"), NextSince: next}
	e.Data = evs
	n := len(evs)
	e.PageSize = &n
	writeJSON(w, http.StatusOK, e)
	return nil
}

// int64Param parses a non-negative event id.
func int64Param(v, name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, knm.Errorf(knm.ErrInvalid, "%s must be an event id (an integer >= 0)", name).WithCause(name)
	}
	return n, nil
}

// acceptsEventStream reports whether the Accept header names text/event-stream.
func acceptsEventStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// streamEvents sends the events the caller may see as Server-Sent Events until the client
// leaves, the server shuts down or the caller's token lifetime has passed (the client then
// reconnects with a fresh token and Last-Event-ID). Each event is "id", "event" (its
// type) and "data" (its JSON); when a scan passed only events the caller may not see, an
// "id" line alone moves the client's Last-Event-ID past them.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, since int64) error {
	ctx := r.Context()
	me := caller(r).ID
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	end := time.Now().Add(s.signer.ttl)
	lastWrite := time.Time{}
	write := func(text string) bool {
		rc.SetWriteDeadline(time.Now().Add(streamHeartbeat + 30*time.Second))
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		lastWrite = time.Now()
		return rc.Flush() == nil
	}
	if !write("retry: 2000\n\n") {
		return nil
	}
	for time.Now().Before(end) {
		evs, next, err := s.mgr.Events(ctx, me, since, defaultEventLimit)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.WarnContext(ctx, "event stream failed", "request_id", requestID(r), "error", err)
				write("event: error\ndata: {\"error\":\"internal_error\"}\n\n")
			}
			return nil
		}
		if !write(sseEvents(evs, since, next) + heartbeat(lastWrite, len(evs) == 0 && next == since)) {
			return nil
		}
		since = next
		if len(evs) == defaultEventLimit {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.streams.stopping():
			return nil
		case <-time.After(streamPoll):
		}
	}
	return nil
}

// sseEvents renders events as Server-Sent Events; when the scan moved past events the
// caller may not see, it ends with an id-only message at next.
func sseEvents(evs []*knm.Event, since, next int64) string {
	var b strings.Builder
	for _, e := range evs {
		data, _ := json.Marshal(e)
		fmt.Fprintf(&b, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
	}
	if next > since && (len(evs) == 0 || evs[len(evs)-1].ID != next) {
		fmt.Fprintf(&b, "id: %d\n\n", next)
	}
	return b.String()
}

// heartbeat returns an SSE comment when an idle stream has been silent for
// streamHeartbeat.
func heartbeat(lastWrite time.Time, idle bool) string {
	if idle && time.Since(lastWrite) >= streamHeartbeat {
		return ": keep-alive\n\n"
	}
	return ""
}

// streams ends the event streams when the server shuts down: http.Server.Shutdown waits
// for connections to go idle, which a stream never does. Its zero value is ready.
type streams struct {
	mu   sync.Mutex
	once sync.Once
	stop chan struct{}
}

// channel returns the channel closed when the server begins shutting down.
func (st *streams) channel() chan struct{} {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stop == nil {
		st.stop = make(chan struct{})
	}
	return st.stop
}

// stopping is closed once the server began shutting down.
func (st *streams) stopping() <-chan struct{} { return st.channel() }

// closeStreams ends every event stream; HTTPServer registers it with RegisterOnShutdown.
func (s *Server) closeStreams() {
	ch := s.streams.channel()
	s.streams.once.Do(func() { close(ch) })
}
