// Package jsonpos says where malformed JSON breaks, as a line and column a person can find
// in an editor, instead of encoding/json's byte offset.
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Syntax returns the 1-based line and column at which data stops being JSON, and the
// syntax error; ok is false when data is well-formed JSON (its shape is the caller's to
// check, with better messages).
func Syntax(data []byte) (line, col int, err *json.SyntaxError, ok bool) {
	var v any
	uerr := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if uerr == nil || !errors.As(uerr, &se) {
		return 0, 0, nil, false
	}
	off := se.Offset
	if off >= int64(len(data)) {
		off = int64(len(data)) + 1 // truncated input: point just past the end
	}
	line, col = position(data, off)
	return line, col, se, true
}

// position converts the decoder's offset (bytes read when the error was found, so the
// offending byte is the last of them) into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	at := int(offset) - 1
	if at < 0 {
		at = 0
	}
	if at > len(data) {
		at = len(data)
	}
	before := data[:at]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = at - bytes.LastIndexByte(before, '\n')
	return line, col
}
