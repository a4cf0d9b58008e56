package config

import (
	"strings"

	"github.com/knmproject/knm"
)

// InternalPrefix starts the system_config categories that hold knm's own state.
const InternalPrefix = "knm."

// CheckWritable refuses an operator's write (REST API, knm config set, import) to a knm.*
// category no package registered with RegisterValidator: knm's internal state, such as
// knm.auth's token secret, which an overwrite would break at the next start.
func CheckWritable(category string) error {
	if !strings.HasPrefix(strings.ToLower(category), InternalPrefix) || validatorOf(category) != nil {
		return nil
	}
	return &knm.Error{Name: knm.ErrForbidden, Cause: category,
		Message: "system_config " + category + " is knm's internal state and cannot be written through the API or " +
			"the command line"}
}
