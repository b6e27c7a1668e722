package ledger

import (
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Argument limits. Values that break them are rejected, never truncated.
// Error messages describe what was expected and never echo the value, since
// a mistyped field could hold health data.
const (
	MaxIDLength       = 64
	MaxListLength     = 100
	MaxPageSize       = 1000
	DefaultPageSize   = 100
	MaxRequestBytes   = 16 << 10
	MaxEndpointLength = maxHostLength + 6
	MaxPEMBytes       = 8 << 10
	MaxBookmarkLength = 1024
)

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$`)
	mspPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$`)
	loincPattern  = regexp.MustCompile(`^[1-9][0-9]{0,6}-[0-9]$`)
	txIDPattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	endpointRegex = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*:[0-9]{1,5}$`)
)

// CheckID validates an opaque identifier (record or consent ID): 3 to 64
// characters of letters, digits, '.', '_', ':' and '-', starting with a
// letter or digit.
func CheckID(arg, s string) error {
	if !idPattern.MatchString(s) {
		return InvalidArgument(arg, "want 3 to %d characters [A-Za-z0-9._:-] starting with a letter or digit", MaxIDLength)
	}
	return nil
}

// CheckMSPID validates a Fabric MSP ID.
func CheckMSPID(arg, s string) error {
	if !mspPattern.MatchString(s) {
		return InvalidArgument(arg, "want an MSP ID of 1 to 64 characters [A-Za-z0-9.-]")
	}
	return nil
}

// CheckTxID validates a Fabric transaction ID: 64 lowercase hex digits.
func CheckTxID(arg, s string) error {
	if !txIDPattern.MatchString(s) {
		return InvalidArgument(arg, "want a transaction ID of 64 lowercase hex digits")
	}
	return nil
}

// CheckHash32 validates a SHA-256-sized value written as 64 lowercase hex
// digits.
func CheckHash32(arg, s string) error {
	if len(s) != 64 || strings.ToLower(s) != s {
		return InvalidArgument(arg, "want 32 bytes as 64 lowercase hex digits")
	}
	if _, err := hex.DecodeString(s); err != nil {
		return InvalidArgument(arg, "want 32 bytes as 64 lowercase hex digits")
	}
	return nil
}

// maxHostLength is the longest DNS name.
const maxHostLength = 253

// CheckEndpoint validates a gateway endpoint written as host:port.
func CheckEndpoint(arg, s string) error {
	if len(s) > MaxEndpointLength || !endpointRegex.MatchString(s) || strings.LastIndexByte(s, ':') > maxHostLength {
		return InvalidArgument(arg, "want host:port with a DNS name or IPv4 address")
	}
	port, _ := strconv.Atoi(s[strings.LastIndexByte(s, ':')+1:])
	if port < 1 || port > 65535 {
		return InvalidArgument(arg, "want a port from 1 to 65535")
	}
	return nil
}

// FHIRDocumentTypes are the FHIR R4 resource types accepted as document
// types, besides LOINC codes.
var FHIRDocumentTypes = []string{
	"AllergyIntolerance", "CarePlan", "Composition", "Condition", "DiagnosticReport",
	"DocumentReference", "Encounter", "ImagingStudy", "Immunization", "MedicationRequest",
	"MedicationStatement", "Observation", "Procedure", "QuestionnaireResponse",
}

// CheckDocType validates a document type: a LOINC code ("nnnnn-c" with a
// correct mod-10 check digit) or a FHIR R4 resource type from
// FHIRDocumentTypes.
func CheckDocType(arg, s string) error {
	if slices.Contains(FHIRDocumentTypes, s) {
		return nil
	}
	if loincPattern.MatchString(s) && loincCheckDigitOK(s) {
		return nil
	}
	return InvalidArgument(arg, "want a LOINC code like 11506-3 (with a valid check digit) or a FHIR resource type, one of %s", strings.Join(FHIRDocumentTypes, ", "))
}

// loincCheckDigitOK verifies a LOINC code's mod-10 (Luhn) check digit.
func loincCheckDigitOK(code string) bool {
	body, check, _ := strings.Cut(code, "-")
	sum := 0
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return strconv.Itoa((10-sum%10)%10) == check
}

// TimeLayout is the only time format accepted in arguments and signed
// documents: UTC, whole seconds.
const TimeLayout = "2006-01-02T15:04:05Z"

// ParseTime reads a time written in TimeLayout.
func ParseTime(arg, s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil || t.Format(TimeLayout) != s {
		return time.Time{}, InvalidArgument(arg, "want a UTC time like 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// maxVersion bounds record versions.
const maxVersion = 1_000_000

// ParseVersion reads a record version: a decimal integer from 1.
func ParseVersion(arg, s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > maxVersion || strconv.Itoa(v) != s {
		return 0, InvalidArgument(arg, "want a version number from 1 to %d", maxVersion)
	}
	return v, nil
}

// ParsePageSize reads a page size; empty means DefaultPageSize.
func ParsePageSize(arg, s string) (int32, error) {
	if s == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize || strconv.Itoa(n) != s {
		return 0, InvalidArgument(arg, "want a page size from 1 to %d", MaxPageSize)
	}
	return int32(n), nil
}

// CheckBookmark bounds a pagination bookmark; its content is checked by the
// code that issued it.
func CheckBookmark(arg, s string) error {
	if len(s) > MaxBookmarkLength || !utf8.ValidString(s) {
		return InvalidArgument(arg, "want a bookmark returned by a previous page")
	}
	return nil
}

// normalizeList checks each element, sorts and removes duplicates, so that
// two encodings of the same set are the same bytes.
func normalizeList(arg string, in []string, check func(string, string) error) ([]string, error) {
	if len(in) > MaxListLength {
		return nil, InvalidArgument(arg, "want at most %d entries", MaxListLength)
	}
	for i, s := range in {
		if err := check(arg+"["+strconv.Itoa(i)+"]", s); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out), nil
}
