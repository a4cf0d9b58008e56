package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knmproject/knm/internal/testenv"
)

// oneLineErr fails the test unless knm args exits non-zero with exactly one stderr line
// holding every want.
func oneLineErr(t *testing.T, db string, args []string, want ...string) {
	t.Helper()
	code, _, errs := cli(t, db, args...)
	if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("knm %v: exit %d, want one error line, got %q", args, code, errs)
		return
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("knm %v: stderr %q lacks %q", args, errs, w)
		}
	}
}

// TestErrorsSayWhatToDo covers the messages that blamed the wrong cause or gave no hint:
// --redis, --listen, SQLite paths, negative numbers read as flags, carrier modules and
// typo keys in config set, and a list prefix without "+".
func TestErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	mustCLI(t, db, "numbers", "create", "+14155550100", "--state", "available")
	if out := mustCLI(t, db, "numbers", "list", "--prefix", "1415"); !strings.Contains(out, "+14155550100") {
		t.Errorf("list --prefix 1415: %s", out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	oneLineErr(t, db, []string{"serve", "--listen", busy}, "in use by another process")
	oneLineErr(t, db, []string{"serve", "--listen", "1.2.3.4"}, "missing port", ":PORT")

	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	deadRedis := refused.Addr().String()
	refused.Close()
	configureVoxbone(t, db, startEmulator(t))
	oneLineErr(t, db, []string{"--redis", "redis://" + deadRedis, "voxbone", "balance"}, "connection refused")
	oneLineErr(t, db, []string{"--redis", "redis://" + deadRedis + "/abc", "voxbone", "balance"},
		"is not a Redis address", "HOST:PORT")
	if addr := os.Getenv("KNM_TEST_REDIS"); addr != "" {
		if out := mustCLI(t, db, "--redis", addr, "voxbone", "balance"); !strings.Contains(out, "balance 500.00") {
			t.Errorf("--redis HOST:PORT: %s", out)
		}
	} else if testenv.InCI() {
		t.Error("KNM_TEST_REDIS is not set: --redis HOST:PORT not tested")
	}

	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	oneLineErr(t, "sqlite:"+filepath.Join(missing, "knm.db"), []string{"accounts", "list"},
		"directory "+missing+" of the SQLite database does not exist", "mkdir -p")

	oneLineErr(t, db, []string{"config", "set", "number_manager.voxbone", "page_size", "-1"},
		"put -- before the arguments")
	oneLineErr(t, db, []string{"config", "set", "number_manager", "carrier_modules", `["knm_bogus"]`},
		`knm has no carrier module "knm_bogus"`, "knm_voxbone")
	code, _, errs := cli(t, db, "config", "set", "number_manager.voxbone", "usrname", `"x"`)
	if code != 0 || !strings.Contains(errs, "warning: knm does not read number_manager.voxbone usrname") ||
		!strings.Contains(errs, "username") {
		t.Errorf("typo key: exit %d, stderr %q", code, errs)
	}
	if _, _, errs := cli(t, db, "config", "set", "number_manager.voxbone", "username", `"x"`); errs != "" {
		t.Errorf("a known key warned: %q", errs)
	}
}

// TestSQLiteHint: the SQLite errors that name neither the file nor the fix get a hint
// (a read-only file cannot be made as root, so the message is checked here).
func TestSQLiteHint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ db, err, want string }{
		{"sqlite:/srv/knm.db", "attempt to write a readonly database (1544)", "/srv/knm.db is read-only"},
		{"/srv/knm.db", "sqlite: unable to open database file (14)", "cannot open the SQLite database /srv/knm.db"},
		{"postgres://h/db", "attempt to write a readonly database", ""},
		{"sqlite:/srv/knm.db", "disk I/O error", ""},
	} {
		got := sqliteHint(tt.db, errorString(tt.err))
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("sqliteHint(%q, %q) = %q, want it to hold %q", tt.db, tt.err, got, tt.want)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestConfigImportWarnsUnknownKeys: an imported document's keys that knm does not read are
// named on stderr, and the document is stored all the same, as Kazoo keeps them.
func TestConfigImportWarnsUnknownKeys(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	file := filepath.Join(t.TempDir(), "sc.json")
	os.WriteFile(file, []byte(`[{"_id":"number_manager.voxbone","default":{"usrname":"u","username":"u"},
	  "node1":{"page_sise":5}},{"_id":"crossbar","default":{"anything":1}}]`), 0o600)
	code, out, errs := cli(t, db, "config", "import", file)
	if code != 0 || !strings.Contains(out, "imported 2 document(s)") {
		t.Fatalf("import: exit %d %s %s", code, out, errs)
	}
	for _, want := range []string{"knm does not read number_manager.voxbone usrname (section default)",
		"knm does not read number_manager.voxbone page_sise (section node1)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q: %s", want, errs)
		}
	}
	if strings.Contains(errs, "username") || strings.Contains(errs, "crossbar") {
		t.Errorf("warned about a known key or a category knm does not check: %s", errs)
	}
	if out := mustCLI(t, db, "config", "get", "number_manager.voxbone", "usrname"); !strings.Contains(out, `"u"`) {
		t.Errorf("the unknown key was not stored: %s", out)
	}
}
