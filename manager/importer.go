package manager

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
)

// ImportOptions are the defaults of a bulk import, used where a row leaves a column empty.
type ImportOptions struct {
	Module    string    // default knm_inventory
	State     knm.State // default available
	AssignTo  string    // default owner for owned states
	BatchSize int       // numbers per ImportNumbers transaction; default 1000
}

// Rejection is one CSV row that was not imported.
type Rejection struct {
	Line   int    `json:"line"` // 1-based line of the row in the file (the header is line 1)
	Number string `json:"number"`
	Reason string `json:"reason"`
}

// MaxRejections is how many rejections an ImportReport lists; Rejected counts them all.
const MaxRejections = 1000

// ImportReport is the outcome of Import.
type ImportReport struct {
	Rows       int         `json:"rows"`     // data rows read
	Imported   int         `json:"imported"` // numbers stored
	Skipped    int         `json:"skipped"`  // numbers already stored (an import can run twice)
	Rejected   int         `json:"rejected"` // rows refused
	Rejections []Rejection `json:"rejections,omitempty"`
}

// importableStates are the states a CSV row may ask for: never discovery (a search-cache
// state) nor deleted (a marker that is never stored).
var importableStates = []knm.State{knm.StateAvailable, knm.StateAging, knm.StateReleased,
	knm.StateReserved, knm.StateInService, knm.StatePortIn, knm.StatePortOut}

// Import loads numbers from CSV (kazoo-knm §4: the knm_inventory is loaded this way).
//
// The first row is a header naming the columns; "number" (or "e164") is required, and
// "state", "module", "assigned_to" and "carrier_data" (a JSON object) are optional, falling
// back to o. Numbers are normalised. A row is rejected, with its line and reason, for an
// invalid number, a bad state, module, owner or carrier data, or a number already seen
// earlier in the file. Numbers already stored are counted as skipped, so running an import
// twice is safe. Rows are stored in batches through ImportNumbers.
//
// Memory stays bounded: rows stream through one batch at a time; only an 8-byte key per
// number is kept, to find duplicates in the file. progress, if not nil, is called after
// each batch with the rows done and the total (0 when r cannot seek, so the total is
// unknown).
func (m *Manager) Import(ctx context.Context, r io.Reader, o ImportOptions,
	progress func(done, total int)) (*ImportReport, error) {
	o = o.withDefaults()
	total, err := countRows(r)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, knm.Errorf(knm.ErrInvalid, "import: cannot read the CSV header").Wrap(err)
	}
	cols, err := importColumns(header)
	if err != nil {
		return nil, err
	}
	b := m.newImportBatch(o.BatchSize, total, progress)
	seen := make(map[uint64]struct{})
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		b.rep.Rows++
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			b.rep.reject(Rejection{Line: pe.Line, Reason: "malformed CSV: " + pe.Err.Error()})
			continue
		} else if err != nil {
			return b.rep, fmt.Errorf("manager: import: read row %d: %w", b.rep.Rows, err)
		}
		line, _ := cr.FieldPos(0)
		n, reason := m.importRow(rec, cols, o)
		if reason == "" {
			reason = firstInFile(seen, n.Number)
		}
		if reason != "" {
			b.rep.reject(Rejection{Line: line, Number: field(rec, cols.number), Reason: reason})
		} else if err := b.add(ctx, n); err != nil {
			return b.rep, err
		}
	}
	return b.finish(ctx)
}

func (o ImportOptions) withDefaults() ImportOptions {
	if o.Module == "" {
		o.Module = "knm_inventory"
	}
	if o.State == "" {
		o.State = knm.StateAvailable
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	return o
}

// firstInFile records an E.164 number as seen and says why it is rejected when it was seen
// before; the key is the number's digits, 8 bytes.
func firstInFile(seen map[uint64]struct{}, number string) string {
	key, _ := strconv.ParseUint(number[1:], 10, 64)
	if _, dup := seen[key]; dup {
		return "duplicate in file"
	}
	seen[key] = struct{}{}
	return ""
}

func (rep *ImportReport) reject(r Rejection) {
	rep.Rejected++
	if len(rep.Rejections) < MaxRejections {
		rep.Rejections = append(rep.Rejections, r)
	}
}

// importBatch stores the numbers of an import a batch at a time through ImportNumbers,
// counting what was stored and what was there already.
type importBatch struct {
	store    knm.NumberStore
	rep      *ImportReport
	numbers  []*knm.Number
	size     int
	total    int
	progress func(done, total int)
}

func (m *Manager) newImportBatch(size, total int, progress func(done, total int)) *importBatch {
	if progress == nil {
		progress = func(int, int) {}
	}
	return &importBatch{store: m.store, rep: &ImportReport{}, numbers: make([]*knm.Number, 0, size), size: size,
		total: total, progress: progress}
}

// add queues n, storing the batch once it is full.
func (b *importBatch) add(ctx context.Context, n *knm.Number) error {
	b.numbers = append(b.numbers, n)
	if len(b.numbers) < b.size {
		return nil
	}
	return b.flush(ctx)
}

func (b *importBatch) flush(ctx context.Context) error {
	if len(b.numbers) == 0 {
		return nil
	}
	skipped, err := b.store.ImportNumbers(ctx, b.numbers)
	if err != nil {
		return fmt.Errorf("manager: import batch ending at row %d: %w", b.rep.Rows, err)
	}
	b.rep.Skipped += len(skipped)
	b.rep.Imported += len(b.numbers) - len(skipped)
	b.numbers = b.numbers[:0]
	b.progress(b.rep.Rows, b.total)
	return nil
}

// finish stores what is left and returns the report.
func (b *importBatch) finish(ctx context.Context) (*ImportReport, error) {
	if err := b.flush(ctx); err != nil {
		return b.rep, err
	}
	b.progress(b.rep.Rows, b.total)
	return b.rep, nil
}

// importCols holds the index of each known column, -1 when absent.
type importCols struct{ number, state, module, assignedTo, carrierData int }

func importColumns(header []string) (importCols, error) {
	c := importCols{-1, -1, -1, -1, -1}
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "number", "e164":
			c.number = i
		case "state":
			c.state = i
		case "module", "module_name":
			c.module = i
		case "assigned_to":
			c.assignedTo = i
		case "carrier_data":
			c.carrierData = i
		}
	}
	if c.number < 0 {
		return c, knm.Errorf(knm.ErrInvalid, "import: the CSV header needs a number (or e164) column").WithCause("number")
	}
	return c, nil
}

func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// importRow builds the number of one row, or says why the row is rejected.
func (m *Manager) importRow(rec []string, c importCols, o ImportOptions) (*knm.Number, string) {
	raw := field(rec, c.number)
	num := m.normalize(raw)
	if !knm.IsE164(num) {
		return nil, "invalid number"
	}
	state := o.State
	if s := field(rec, c.state); s != "" {
		state = knm.State(s)
	}
	if !containsState(importableStates, state) {
		return nil, fmt.Sprintf("bad state %q", state)
	}
	module := o.Module
	if s := field(rec, c.module); s != "" {
		module = s
	}
	if !strings.HasPrefix(module, "knm_") {
		return nil, fmt.Sprintf("bad module %q", module)
	}
	owner := o.AssignTo
	if s := field(rec, c.assignedTo); s != "" {
		owner = s
	}
	unowned := state == knm.StateAvailable || state == knm.StateAging || state == knm.StateReleased
	switch {
	case owner != "" && !knm.ValidAccountID(owner):
		return nil, fmt.Sprintf("bad assigned_to %q", owner)
	case unowned && field(rec, c.assignedTo) != "":
		return nil, fmt.Sprintf("a %s number has no owner", state)
	case !unowned && owner == "":
		return nil, fmt.Sprintf("a %s number needs assigned_to", state)
	}
	n := &knm.Number{Number: num, State: state}
	if !unowned {
		n.AssignedTo = owner
		if state == knm.StateReserved {
			n.ReserveHistory = []string{owner}
		}
	}
	if s := field(rec, c.carrierData); s != "" {
		if !json.Valid([]byte(s)) || !strings.HasPrefix(s, "{") {
			return nil, "carrier_data is not a JSON object"
		}
		n.CarrierData = json.RawMessage(s)
	}
	n.SetModule(module)
	return n, ""
}

// countRows counts the data rows of a seekable r (lines minus the header) and rewinds it;
// it returns 0 for a reader that cannot seek. A quoted field spanning lines makes the
// count an estimate, which is all a progress bar needs.
func countRows(r io.Reader) (int, error) {
	s, ok := r.(io.Seeker)
	if !ok {
		return 0, nil
	}
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, nil // not really seekable (a pipe): total unknown
	}
	buf := make([]byte, 1<<16)
	lines, last := 0, byte('\n')
	for {
		k, err := r.Read(buf)
		lines += bytes.Count(buf[:k], []byte{'\n'})
		if k > 0 {
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		lines++
	}
	if _, err := s.Seek(start, io.SeekStart); err != nil {
		return 0, err
	}
	return max(lines-1, 0), nil
}
