package ledger

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// jsonProblem describes a JSON decoding error by position and field, never
// by the offending value.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "malformed JSON"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type, want " + typ.Type.String()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The field's name is input too, and could carry anything.
		return "an unknown field"
	default:
		return "malformed JSON"
	}
}

// DecodeStrict decodes a JSON request argument into v, refusing unknown
// fields, trailing data and oversized input, with an error naming arg.
func DecodeStrict(arg, s string, v any) error {
	if len(s) > MaxRequestBytes {
		return InvalidArgument(arg, "want at most %d bytes of JSON", MaxRequestBytes)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return InvalidArgument(arg, "want a JSON object with the documented fields: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return InvalidArgument(arg, "want exactly one JSON object")
	}
	return nil
}
