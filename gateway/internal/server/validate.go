package server

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	domain "github.com/medprov/medprov/chaincode/ledger"
)

// Request validation. Every service checks the form of a request before
// anything is sent to the ledger, so that a malformed request fails with
// INVALID_ARGUMENT and a message that starts with the proto field's name
// ("metadata.record_id: want ..."), never with a value. The checks of the
// domain (domain.CheckID, CheckPseudonym, ...) are called with the proto
// field's name and turned into a status by argStatus; errors that name the
// domain's or the chaincode's own argument names are renamed to the
// request's fields by renameArg and ledgerError. The conversions of enums,
// timestamps and nested messages fail with a convert.FieldError instead,
// which mapStatus turns into INVALID_ARGUMENT.

// argStatus returns an INVALID_ARGUMENT of the domain's validation, called
// with the request field's name, as an INVALID_ARGUMENT status with the
// same message ("field: want ..."); the domain's messages never echo a
// value. Any other error, and nil, is returned unchanged.
func argStatus(err error) error {
	var de *domain.Error
	if err == nil || !errors.As(err, &de) || de.Code != domain.CodeInvalidArgument {
		return err
	}
	return status.Error(codes.InvalidArgument, de.Message)
}

// renameArg returns an INVALID_ARGUMENT of the domain or the chaincode,
// whose message starts with an argument's name ("query.bookmark: want
// ..."), as an INVALID_ARGUMENT status that names the request field
// rename(name) instead, keeping the rest of the message. Any other error is
// returned unchanged.
func renameArg(err error, rename func(name string) string) error {
	var de *domain.Error
	if err == nil || !errors.As(err, &de) || de.Code != domain.CodeInvalidArgument {
		return err
	}
	name, rest, ok := strings.Cut(de.Message, ": ")
	if !ok || strings.ContainsAny(name, " ") {
		return status.Error(codes.InvalidArgument, de.Message)
	}
	return status.Error(codes.InvalidArgument, rename(name)+": "+rest)
}

// ledgerError returns the error of a ledger call: an INVALID_ARGUMENT
// renamed to the request's fields (renameArg), any other wrapped with
// what the call was.
func ledgerError(what string, err error, rename func(name string) string) error {
	if renamed := renameArg(err, rename); renamed != err {
		return renamed
	}
	return fmt.Errorf("%s: %w", what, err)
}

// snakeCase turns a JSON field path in lowerCamelCase ("scope.docTypes[1]")
// into the proto's snake_case ("scope.doc_types[1]").
func snakeCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// optionalVersion checks a record version field where 0 means the latest:
// INVALID_ARGUMENT above maxRecordVersion.
func optionalVersion(field string, v uint32) (int, error) {
	if v > maxRecordVersion {
		return 0, status.Errorf(codes.InvalidArgument, "%s: want a version number from 1 to %d, or 0 for the latest", field, maxRecordVersion)
	}
	return int(v), nil
}

// contentSHA256 checks an optional SHA-256 field: empty is nil, anything
// else must be 32 bytes (INVALID_ARGUMENT otherwise).
func contentSHA256(field string, sum []byte) ([]byte, error) {
	switch len(sum) {
	case 0:
		return nil, nil
	case sha256.Size:
		return sum, nil
	}
	return nil, status.Error(codes.InvalidArgument, field+": want 32 bytes (a SHA-256), or empty")
}

// checkSequence checks the sequence field of a patient's signed statement
// (a key rotation or a revocation): INVALID_ARGUMENT for 0.
func checkSequence(n uint64) error {
	if n == 0 {
		return status.Error(codes.InvalidArgument, "sequence: want the patient's next sequence number (GetPatient's sequence + 1), from 1")
	}
	return nil
}
