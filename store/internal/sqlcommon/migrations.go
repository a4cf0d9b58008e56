package sqlcommon

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema change, applied once; its Version starts its file name.
type Migration struct {
	Name    string
	Version int
	SQL     string
}

// Migrations returns the migrations/*.sql files of fsys in name order, which is version
// order. Each backend embeds its own files and records what it applied in its own way.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	ms := make([]Migration, len(names))
	for i, name := range names {
		version, err := migrationVersion(name)
		if err != nil {
			return nil, err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms[i] = Migration{Name: name, Version: version, SQL: string(body)}
	}
	return ms, nil
}

// migrationVersion returns the number that starts a migration's file name.
func migrationVersion(name string) (int, error) {
	base := name[strings.LastIndexByte(name, '/')+1:]
	digits, _, _ := strings.Cut(base, "_")
	v, err := strconv.Atoi(digits)
	if err != nil {
		return 0, fmt.Errorf("migration %s: name must start with its number", name)
	}
	return v, nil
}
