package command

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/medprov/medprov/chaincode/ledger"
)

// maxSignedFile bounds the signed statements read with --file.
const maxSignedFile = 64 << 10

// maxSignatureBytes is the largest patient signature the API accepts.
const maxSignatureBytes = 150

// signedFileFlag is the --file flag of a command that submits a statement
// the patient signed offline: the JSON a sign command writes with -o json.
type signedFileFlag struct {
	path string
}

func (f *signedFileFlag) register(c *cobra.Command, usage string) {
	c.Flags().StringVar(&f.path, "file", "", usage)
	_ = c.MarkFlagFilename("file", "json")
}

// signedStatement is what a sign command writes with -o json: a statement
// and the patient's signature of it in standard base64.
type signedStatement interface {
	signature() string
}

// read reads the file into in (see readSignedFile), checks the statement
// with check, then decodes its signature (see decodeSignature), in that
// order. check runs once in is filled, so it must be a closure that reads
// in, not a method value such as in.Revocation.Validate, which would copy
// the statement before it is read. An error from check goes through
// fieldError (a ledger INVALID_ARGUMENT becomes a usage error); every
// error names --file and the file.
func (f *signedFileFlag) read(in signedStatement, check func() error) ([]byte, error) {
	if err := readSignedFile("--file", f.path, in); err != nil {
		return nil, err
	}
	if err := check(); err != nil {
		return nil, f.fieldError(err)
	}
	return decodeSignature("--file", f.path, in.signature())
}

// fieldError is fileFieldError for --file.
func (f *signedFileFlag) fieldError(err error) error {
	return fileFieldError("--file", f.path, err)
}

// readSignedFile reads a signed statement that consent sign,
// sign-revocation or patient sign-rotation wrote with -o json: one JSON
// object with exactly the expected fields. Errors name flag and the file.
func readSignedFile(flag, path string, v any) error {
	if path == "" {
		return usagef(flag, "required: the signed JSON file")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSignedFile+1))
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if len(data) > maxSignedFile {
		return usagef(flag, "%s: larger than %d bytes; want the JSON a sign command writes with -o json", path, maxSignedFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return usagef(flag, "%s: want the JSON a sign command writes with -o json: %v", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return usagef(flag, "%s: want exactly one JSON object", path)
	}
	return nil
}

// fileFieldError turns a ledger INVALID_ARGUMENT about a field of a signed
// file into a usage error naming the flag and the file.
func fileFieldError(flag, path string, err error) error {
	var le *ledger.Error
	if errors.As(err, &le) && le.Code == ledger.CodeInvalidArgument {
		return usagef(flag, "%s: %s", path, le.Message)
	}
	return fmt.Errorf("%s: %s: %w", flag, path, err)
}

// decodeSignature reads the base64 signature of a signed file.
func decodeSignature(flag, path, sig string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || len(b) == 0 || len(b) > maxSignatureBytes {
		return nil, usagef(flag, "%s: signature: want 1 to %d bytes in standard base64", path, maxSignatureBytes)
	}
	return b, nil
}
