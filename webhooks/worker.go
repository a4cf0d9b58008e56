package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/events"
)

// EventFilter decides which events an account may see: *manager.Manager implements it
// with the same rule that governs reading numbers and GET /v2/events.
type EventFilter interface {
	EventFilter(ctx context.Context, auth string) func(*knm.Event) (bool, error)
}

// Options configure a Worker. Store and Filter are required.
type Options struct {
	Store  knm.Store
	Filter EventFilter
	// Owner names this instance in delivery leases; default a random id.
	Owner string
	// Settings returns the delivery settings; default DefaultSettings.
	Settings func(context.Context) (Settings, error)
	// Client sends deliveries; default an http.Client that verifies TLS and does not
	// follow redirects. The timeout comes from Settings.
	Client *http.Client
	// Poll is how often the worker looks for new events and due retries; default 1 s.
	Poll time.Duration
	// Observer, when set, is told of every delivery attempt and of how many hooks are
	// disabled; *metrics.Metrics implements it.
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
}

// Observer receives delivery figures, for metrics.
type Observer interface {
	// ObserveWebhookDelivery records one attempt: delivered (2xx) or not, whether its
	// failure disabled the hook, and how long it took.
	ObserveWebhookDelivery(delivered, disabled bool, d time.Duration)
	// SetWebhooksDisabled records how many hooks are disabled now.
	SetWebhooksDisabled(n int)
}

// queueBatch is how many events one fan-out step reads; queuePasses bounds the steps per
// pass, so one hook with a long backlog does not hold the others up.
const (
	queueBatch  = 500
	queuePasses = 4
	// leaseMargin is added to the attempt timeout in a delivery's lease: time to record
	// the result once the receiver answered.
	leaseMargin = 30 * time.Second
)

// Worker delivers the events of every enabled hook. Several workers (one per instance)
// may share one store: leases give each delivery to one of them at a time.
type Worker struct {
	o        Options
	wake     chan struct{}
	inflight sync.WaitGroup
}

// NewWorker returns a Worker, or an error when Store or Filter is missing.
func NewWorker(o Options) (*Worker, error) {
	if o.Store == nil || o.Filter == nil {
		return nil, errors.New("webhooks: Store and Filter are required")
	}
	if o.Owner == "" {
		var b [8]byte
		rand.Read(b[:])
		o.Owner = "webhooks-" + hex.EncodeToString(b[:])
	}
	if o.Settings == nil {
		o.Settings = func(context.Context) (Settings, error) { return DefaultSettings(), nil }
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Worker{o: o, wake: make(chan struct{}, 1)}, nil
}

// Run delivers until ctx ends, then waits for the deliveries in flight (each bounded by
// the attempt timeout) and returns. A delivery cut short by a crash is retried by any
// instance once its lease expires.
func (w *Worker) Run(ctx context.Context) {
	defer w.inflight.Wait()
	for {
		if err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.o.Logger.WarnContext(ctx, "webhook delivery pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-time.After(w.o.Poll):
		}
	}
}

// Pass queues the new events of every enabled hook and starts the deliveries that are
// due, without waiting for them (Wait does).
func (w *Worker) Pass(ctx context.Context) error {
	set, err := w.o.Settings(ctx)
	if err != nil {
		return err
	}
	all, err := w.o.Store.FindWebhooks(ctx, knm.WebhookFilter{})
	if err != nil {
		return err
	}
	// One read serves the delivery and the disabled-hooks gauge.
	var hooks []*knm.Webhook
	for _, h := range all {
		if h.Enabled {
			hooks = append(hooks, h)
		}
	}
	if w.o.Observer != nil {
		w.o.Observer.SetWebhooksDisabled(len(all) - len(hooks))
	}
	var errs []error
	for _, h := range hooks {
		if err := w.queue(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: queue: %w", h.ID, err))
			continue
		}
		ds, err := w.o.Store.ClaimWebhookDeliveries(ctx, h.ID, w.o.Owner, set.Timeout+leaseMargin)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: claim: %w", h.ID, err))
			continue
		}
		for _, d := range ds {
			w.inflight.Add(1)
			go func() {
				defer w.inflight.Done()
				w.deliver(context.WithoutCancel(ctx), h, d, set)
				select {
				case w.wake <- struct{}{}: // the number's next event may go now
				default:
				}
			}()
		}
	}
	return errors.Join(errs...)
}

// Wait waits for the deliveries started by Pass.
func (w *Worker) Wait() { w.inflight.Wait() }

// queue moves the hook's cursor over new events, queueing those its account may see.
// Another instance queueing the same events first is not an error: its work stands.
func (w *Worker) queue(ctx context.Context, h *knm.Webhook) error {
	cur, err := w.o.Store.GetEventCursor(ctx, knm.WebhookConsumer(h.ID))
	if err != nil {
		return err
	}
	from := cur.LastID
	for range queuePasses {
		evs, err := w.o.Store.Events(ctx, from, queueBatch)
		if err != nil || len(evs) == 0 {
			return err
		}
		wanted, err := w.hookEvents(ctx, h, evs)
		if err != nil {
			return err
		}
		to := evs[len(evs)-1].ID
		err = w.o.Store.QueueWebhookDeliveries(ctx, h.ID, from, to, wanted)
		if knm.IsErrorName(err, knm.ErrConflict) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(evs) < queueBatch {
			return nil
		}
		from = to
	}
	return nil
}

// hookEvents returns the events of evs the hook receives: those of numbers its account owned
// before or after the change, and with include_subaccounts, those its account may see.
func (w *Worker) hookEvents(ctx context.Context, h *knm.Webhook, evs []*knm.Event) ([]*knm.Event, error) {
	var visible func(*knm.Event) (bool, error)
	if h.IncludeSubaccounts {
		visible = w.o.Filter.EventFilter(ctx, h.AccountID)
	}
	var out []*knm.Event
	for _, e := range evs {
		ok := e.Involves(h.AccountID)
		if !ok && visible != nil {
			var err error
			if ok, err = visible(e); err != nil {
				return nil, err
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// deliver makes one attempt and records its outcome.
func (w *Worker) deliver(ctx context.Context, h *knm.Webhook, d *knm.WebhookDelivery, set Settings) {
	log := w.o.Logger.With("webhook", h.ID, "event", d.Event.ID, "attempt", d.Attempts+1)
	began := time.Now()
	reason := w.attempt(ctx, h, d, set.Timeout)
	took := time.Since(began)
	if reason == "" {
		w.observe(true, false, took)
		if err := w.o.Store.CompleteWebhookDelivery(ctx, h.ID, d.Event.ID); err != nil {
			log.WarnContext(ctx, "webhook delivered but not recorded; it will be sent again", "error", err)
		}
		return
	}
	retry := events.Backoff(set.RetryMin, set.RetryMax, d.Attempts+1)
	disabled, err := w.o.Store.FailWebhookDelivery(ctx, h.ID, d.Event.ID, w.o.Owner,
		knm.WebhookFailure{RetryIn: retry, Reason: reason, DisableAfter: set.DisableAfter})
	w.observe(false, disabled && err == nil, took)
	switch {
	case err != nil:
		log.WarnContext(ctx, "webhook failure not recorded", "reason", reason, "error", err)
	case disabled:
		log.WarnContext(ctx, "webhook disabled after consecutive failures", "reason", reason)
	default:
		log.InfoContext(ctx, "webhook delivery failed", "reason", reason, "retry_in", retry)
	}
}

func (w *Worker) observe(delivered, disabled bool, d time.Duration) {
	if w.o.Observer != nil {
		w.o.Observer.ObserveWebhookDelivery(delivered, disabled, d)
	}
}

// attempt sends one delivery and returns "" on a 2xx answer, else why it failed. The
// reason never quotes the URL (which may carry a receiver's token in its query).
func (w *Worker) attempt(ctx context.Context, h *knm.Webhook, d *knm.WebhookDelivery, timeout time.Duration) string {
	body, err := Payload(h, d.Event)
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := http.MethodPost
	if h.HTTPVerb == "put" {
		method = http.MethodPut
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URI, bytes.NewReader(body))
	if err != nil {
		return "bad uri"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "knm-webhooks/1")
	req.Header.Set(SignatureHeader, Sign(h.Secret, w.o.Now(), body))
	req.Header.Set(DeliveryHeader, DeliveryID(h.ID, d.Event.ID))
	req.Header.Set(EventIDHeader, strconv.FormatInt(d.Event.ID, 10))
	req.Header.Set(EventTypeHeader, string(d.Event.Type))
	req.Header.Set(AttemptHeader, strconv.Itoa(d.Attempts+1))
	resp, err := w.o.Client.Do(req)
	if err != nil {
		var ue *url.Error
		switch {
		case ctx.Err() != nil:
			return fmt.Sprintf("no answer within %s", timeout)
		case errors.As(err, &ue):
			return ue.Err.Error()
		}
		return err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "HTTP " + resp.Status
	}
	return ""
}

// Payload returns the JSON body delivered for event e to hook h: Kazoo's hook_event and
// account_id, the hook and delivery ids, the event as GET /v2/events shows it, and the
// hook's custom_data beside them.
func Payload(h *knm.Webhook, e *knm.Event) ([]byte, error) {
	p := map[string]any{
		"hook_event":  h.Hook,
		"hook_id":     h.ID,
		"account_id":  h.AccountID,
		"delivery_id": DeliveryID(h.ID, e.ID),
		"event":       e,
	}
	for k, v := range h.CustomData {
		if !reservedKeys[k] {
			p[k] = v
		}
	}
	return json.Marshal(p)
}
