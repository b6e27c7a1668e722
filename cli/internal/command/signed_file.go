package command

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/medprov/medprov/chaincode/ledger"
)

// maxSignedFile bounds the signed statements read with --file.
const maxSignedFile = 64 << 10

// maxSignatureBytes is the largest patient signature the API accepts.
const maxSignatureBytes = 150

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
