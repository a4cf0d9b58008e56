package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// sqliteHint says what to do about the SQLite errors that name neither the file nor the
// fix: a directory that does not exist, or a file this user may not write. It returns ""
// for other errors and other databases.
func sqliteHint(db string, err error) string {
	path, ok := sqlitePath(db)
	if !ok {
		return ""
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "readonly database"):
		return " (the SQLite database " + path + " is read-only for this user: make the file and its directory " +
			"writable, or give another --db)"
	case strings.Contains(msg, "unable to open database file"):
		dir := filepath.Dir(path)
		if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
			return " (the directory " + dir + " of the SQLite database does not exist: create it with mkdir -p " +
				dir + ", or give another --db)"
		}
		return " (cannot open the SQLite database " + path + ": check that this user may read and write it and " +
			"its directory)"
	}
	return ""
}

// sqlitePath is the file of an SQLite --db, as store.Open reads it.
func sqlitePath(db string) (string, bool) {
	if strings.Contains(db, "://") && !strings.HasPrefix(db, "sqlite:") {
		return "", false
	}
	path := strings.TrimPrefix(strings.TrimPrefix(db, "sqlite:"), "//")
	return path, path != "" && path != ":memory:"
}
