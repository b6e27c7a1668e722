package convert

import (
	"errors"
	"strings"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// FieldError is the one error of the proto-to-domain conversions: the
// request field at Field does not hold what Want describes. The server
// maps it to INVALID_ARGUMENT.
//
// Field is a proto field path in the proto's own (snake_case) names, with
// list indexes, such as "grant.purposes[1]". Want says what was expected,
// such as "one of TREAT, ETREAT, ...". Neither ever holds the rejected
// value, which could be data.
type FieldError struct {
	Field string
	Want  string
}

// Error renders the error as "field: want ...".
func (e *FieldError) Error() string { return e.Field + ": want " + e.Want }

// Is reports whether target is domain.ErrInvalidArgument, so that code
// which classes errors by the domain's sentinels sees a conversion failure
// as INVALID_ARGUMENT too.
func (e *FieldError) Is(target error) bool { return target == domain.ErrInvalidArgument }

func fieldErr(field, want string) error { return &FieldError{Field: field, Want: want} }

// join builds a field path: join("grant", "scope") is "grant.scope", and
// join("", "scope") is "scope".
func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// asFieldError turns an INVALID_ARGUMENT of the domain's validation
// ("name: want ...") into a FieldError whose field is rename(name). Any
// other error is returned unchanged. Domain messages never echo a value,
// so neither does the FieldError.
func asFieldError(err error, rename func(name string) string) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalidArgument {
		return err
	}
	name, msg, ok := strings.Cut(de.Message, ": ")
	if !ok {
		return fieldErr(rename(""), de.Message)
	}
	return fieldErr(rename(name), strings.TrimPrefix(msg, "want "))
}
