package sqlcommon

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/knmproject/knm"
)

// checkNumber rejects a number the store must not hold: no E.164 string, an unknown
// state, or carrier data that is not JSON.
func checkNumber(n *knm.Number) error {
	if n == nil || n.Number == "" {
		return knm.Errorf(knm.ErrInvalid, "number is empty")
	}
	if n.State != "" && !n.State.Valid() {
		return knm.Errorf(knm.ErrInvalid, "number %s: unknown state %q", n.Number, n.State)
	}
	if len(n.CarrierData) > 0 && !json.Valid(n.CarrierData) {
		return knm.Errorf(knm.ErrInvalid, "number %s: carrier data is not valid JSON", n.Number)
	}
	return nil
}

// EncodeNumber checks n before it is written and returns its JSON extra column.
func EncodeNumber(n *knm.Number) ([]byte, error) {
	if err := checkNumber(n); err != nil {
		return nil, err
	}
	return encodeExtra(n)
}

// PrepareNumber is EncodeNumber for a number about to be created: it also stamps the
// creation and modification times from now, which is only read once n is known good.
func PrepareNumber(n *knm.Number, now func() time.Time) ([]byte, error) {
	extra, err := EncodeNumber(n)
	if err != nil {
		return nil, err
	}
	Stamp(now(), &n.Created, &n.Modified)
	return extra, nil
}

// CheckAccount rejects an account without an id.
func CheckAccount(a *knm.Account) error {
	if a.ID == "" {
		return knm.Errorf(knm.ErrInvalid, "account has no id")
	}
	return nil
}

// CheckConfig rejects a configuration document without an id or whose body is not a
// JSON object.
func CheckConfig(d *knm.ConfigDoc) error {
	if d == nil || d.ID == "" {
		return knm.Errorf(knm.ErrInvalid, "config document has no id")
	}
	body := bytes.TrimSpace(d.Body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return knm.Errorf(knm.ErrInvalid, "config document %s/%s: body is not a JSON object", d.Scope, d.ID)
	}
	return nil
}

// CheckConfigs checks a whole import batch before any of it is written, so an invalid
// document means nothing is.
func CheckConfigs(docs []*knm.ConfigDoc) error {
	for _, d := range docs {
		if err := CheckConfig(d); err != nil {
			return err
		}
	}
	return nil
}

// CheckJournal rejects a journal entry without an id or with a payload that is not JSON.
func CheckJournal(e *knm.JournalEntry) error {
	if e == nil || e.ID == "" {
		return knm.Errorf(knm.ErrInvalid, "journal entry has no id")
	}
	if len(e.Payload) > 0 && !json.Valid(e.Payload) {
		return knm.Errorf(knm.ErrInvalid, "journal entry %s: payload is not valid JSON", e.ID)
	}
	return nil
}

// CheckIdempotencyKey rejects an empty key, which would make unrelated requests collide.
func CheckIdempotencyKey(key string) error {
	if key == "" {
		return knm.Errorf(knm.ErrInvalid, "empty idempotency key")
	}
	return nil
}

// CheckInstance rejects an instance without an id or a lease without a duration.
func CheckInstance(id string, ttl time.Duration) error {
	if id == "" {
		return knm.Errorf(knm.ErrInvalid, "instance has no id")
	}
	if ttl <= 0 {
		return knm.Errorf(knm.ErrInvalid, "instance %s: lease duration %v is not positive", id, ttl)
	}
	return nil
}
