package kazoo

import (
	"net/url"
	"strings"

	"github.com/knmproject/knm"
)

// AccountsDB is Kazoo's database of account definitions, one document per account.
const AccountsDB = "accounts"

// NumberDB returns the CouchDB name of a number's database, "numbers/+1415" for
// +14158867900 (Kazoo's knm_converters:to_db, unencoded); "" when the number is too short to
// have one. The documents themselves carry the URL-encoded form in pvt_db_name.
func NumberDB(e164 string) string {
	name, err := url.QueryUnescape(knm.NumberDBName(e164))
	if err != nil {
		return ""
	}
	return name
}

// AccountDB returns the CouchDB name of an account's database, "account/ab/cd/ef…" for the
// account id "abcdef…" (Kazoo's kzs_util:format_account_db, unencoded); "" when the id is
// not a 32-hex account id. CouchDB database names are lower case, as Kazoo's ids are.
func AccountDB(accountID string) string {
	if !knm.ValidAccountID(accountID) {
		return ""
	}
	id := strings.ToLower(accountID)
	return "account/" + id[:2] + "/" + id[2:4] + "/" + id[4:]
}
