package sqlcommon

import (
	"errors"
	"fmt"

	"github.com/knmproject/knm"
)

// The errors below are the ones both stores return for the same condition, so callers
// (and the storetest suite) see one message and one cause whichever backend runs.

// AccountNotFound is the error for an unknown account id.
func AccountNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "account %s not found", id).WithCause(id)
}

// AccountExists is the error for creating an account whose id is taken.
func AccountExists(id string) error {
	return knm.Errorf(knm.ErrConflict, "account %s already exists", id)
}

// APIKeyTaken is the error for giving an account the API key hash of another.
func APIKeyTaken() error {
	return knm.Errorf(knm.ErrConflict, "API key hash already belongs to another account")
}

// ConfigNotFound is the error for an unknown configuration document.
func ConfigNotFound(scope, id string) error {
	return knm.Errorf(knm.ErrNotFound, "config %s not found in scope %q", id, scope).WithCause(id)
}

// ConfigExists is the error for creating a configuration document that exists.
func ConfigExists(scope, id string) error {
	return knm.Errorf(knm.ErrConflict, "config %s already exists in scope %q", id, scope)
}

// JournalNotFound is the error for an unknown journal entry.
func JournalNotFound(id string) error {
	return knm.Errorf(knm.ErrNotFound, "journal entry %s not found", id).WithCause(id)
}

// JournalExists is the error for creating a journal entry whose id is taken.
func JournalExists(id string) error {
	return knm.Errorf(knm.ErrConflict, "journal entry %s already exists", id)
}

// Missed tells why a revision-guarded write matched no row, given whether the row still
// exists: notFound when it is gone, ErrConflict naming what when its revision moved on.
func Missed(found bool, notFound error, what string) error {
	if !found {
		return notFound
	}
	return knm.Conflict(what)
}

// Wrap adds the backend and operation to a driver error. A *knm.Error passes through
// unchanged, so callers keep its code and message.
func Wrap(backend, op string, err error) error {
	var ke *knm.Error
	if err == nil || errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf("%s: %s: %w", backend, op, err)
}

// InstanceExists is the error for registering an instance whose id is taken.
func InstanceExists(id string) error {
	return knm.Errorf(knm.ErrConflict, "instance %s is already registered", id)
}

// OwnedByLive is the error for taking over a journal entry whose owner's lease is live.
func OwnedByLive(id, owner string) error {
	return knm.Errorf(knm.ErrConflict, "journal entry %s is owned by live instance %s", id, owner)
}

// JournalWriteMissed tells why a fenced journal write matched no row, given what is stored:
// LeaseLost when the writer is not the owner at the stored fence or its lease is not live,
// else a revision conflict.
func JournalWriteMissed(e *knm.JournalEntry, owner string, fence int64, ownerLive bool) error {
	if owner != e.Owner || fence != e.Fence || (e.Owner != "" && !ownerLive) {
		return knm.LeaseLost(e.Owner)
	}
	return knm.Conflict("journal entry " + e.ID)
}
