package config

import (
	"strings"

	"github.com/knmproject/knm"
)

// InternalPrefix starts the system_config categories that hold knm's own state.
const InternalPrefix = "knm."

// CheckWritable refuses an operator's write (the REST API, knm config set and import) to
// knm's internal state: a knm.* category that no package registered as settings with
// RegisterValidator. knm.auth, for one, holds the token secret and the master account, and
// a document written over it stops the next start. knm writes such categories itself.
func CheckWritable(category string) error {
	if !strings.HasPrefix(strings.ToLower(category), InternalPrefix) || validatorOf(category) != nil {
		return nil
	}
	return &knm.Error{Name: knm.ErrForbidden, Cause: category,
		Message: "system_config " + category + " is knm's internal state and cannot be written through the API or " +
			"the command line"}
}
