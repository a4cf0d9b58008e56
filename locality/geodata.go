package locality

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
)

// geocodingData is libphonenumber's geocoding table as nyaruka/phonenumbers embeds it.
// The library answers "where is this number" one number at a time; the city search needs
// the table the other way round (which prefixes does a city have), and asking number by
// number takes seconds for the United States alone. So the table is read once from the
// library's own files. TestGeocodingTable fails if a new version of the library moves or
// reshapes them.
//
//go:linkname geocodingData github.com/nyaruka/phonenumbers.geocodingData
var geocodingData embed.FS

// geocodingDir holds one table per language ("en.txt.gz", "fr.txt.gz"…).
const geocodingDir = "data/prefix_to_geocodings/"

// table maps E.164 prefixes (digits without "+", as integers) to place descriptions such
// as "San Francisco, CA" or "London".
type table struct {
	places    map[int]string
	maxDigits int
}

var (
	tablesMu sync.Mutex
	tables   = map[string]*table{} // by language; nil: the library has none
)

// geocoding returns the geocoding table of a language (ISO 639-1, e.g. "en"), read on
// first use; nil when the library has no table for it.
func geocoding(lang string) (*table, error) {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if t, ok := tables[lang]; ok {
		return t, nil
	}
	// Any call makes sure the library (and its embedded files) is linked in.
	_ = phonenumbers.GetCountryCodeForRegion("US")
	gz, err := geocodingData.ReadFile(geocodingDir + lang + ".txt.gz")
	if errors.Is(err, fs.ErrNotExist) && lang != "en" {
		tables[lang] = nil
		return nil, nil
	}
	var t *table
	if err == nil {
		t, err = readTable(gz)
	}
	if err != nil {
		return nil, fmt.Errorf("locality: libphonenumber geocoding table %q: %w", lang, err)
	}
	tables[lang] = t
	return t, nil
}

// readTable decodes the library's table format: a gzip stream holding the little-endian
// uint32 byte length of the newline-separated place names, the names, the uint32 number of
// entries, then per entry the uvarint increase of the prefix over the previous entry's and
// the little-endian uint16 index of its name.
func readTable(gz []byte) (*table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(zr)
	var size uint32
	if err := binary.Read(r, binary.LittleEndian, &size); err != nil {
		return nil, err
	}
	names := make([]byte, size)
	if _, err := io.ReadFull(r, names); err != nil {
		return nil, err
	}
	values := strings.Split(string(names), "\n")
	var count uint32
	if err := binary.Read(r, binary.LittleEndian, &count); err != nil {
		return nil, err
	}
	t := &table{places: make(map[int]string, count)}
	prefix := 0
	var idx [2]byte
	for i := uint32(0); i < count; i++ {
		diff, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r, idx[:]); err != nil {
			return nil, err
		}
		v := int(binary.LittleEndian.Uint16(idx[:]))
		if v >= len(values) {
			return nil, fmt.Errorf("entry %d names place %d of %d", i, v, len(values))
		}
		prefix += int(diff)
		t.places[prefix] = values[v]
		t.maxDigits = max(t.maxDigits, len(strconv.Itoa(prefix)))
	}
	return t, nil
}

// lookup returns the place of the longest prefix of the E.164 digits that has one, and
// that prefix; "" when none has (or t is nil).
func (t *table) lookup(digits string) (place, prefix string) {
	if t == nil {
		return "", ""
	}
	for n := min(len(digits), t.maxDigits); n > 0; n-- {
		p, err := strconv.Atoi(digits[:n])
		if err != nil {
			return "", ""
		}
		if v, ok := t.places[p]; ok {
			return v, digits[:n]
		}
	}
	return "", ""
}

// languages are the tables a region's numbers are looked up in: English, then the
// region's main language, where libphonenumber keeps places English lacks (Paris is in
// the French table only).
func languages(region string) []string {
	base, _ := language.Make("und-" + region).Base()
	if b := base.String(); b != "en" && b != "und" {
		return []string{"en", b}
	}
	return []string{"en"}
}

// placeOf returns the place of the longest known prefix of the E.164 digits, and that
// prefix, from the first table of the region's languages that knows one.
func placeOf(digits, region string) (place, prefix string, err error) {
	for _, lang := range languages(region) {
		t, err := geocoding(lang)
		if err != nil {
			return "", "", err
		}
		if place, prefix = t.lookup(digits); place != "" {
			return place, prefix, nil
		}
	}
	return "", "", nil
}
