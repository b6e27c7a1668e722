package ledger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/chaincode/ledger"
)

// check runs a table of string checks: ok says whether the value is accepted.
func check(t *testing.T, fn func(arg, s string) error, cases map[string]struct {
	in string
	ok bool
}) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := fn("arg", tc.in)
			if tc.ok {
				wantCode(t, err, nil)
			} else {
				wantInvalid(t, err, "arg")
			}
		})
	}
}

type strCase = struct {
	in string
	ok bool
}

func TestCheckID(t *testing.T) {
	check(t, ledger.CheckID, map[string]strCase{
		"a three-character id is accepted":                            {"abc", true},
		"a 64-character id is accepted":                               {"a" + strings.Repeat("b", 63), true},
		"an id with dots, colons, dashes and underscores is accepted": {"rec.1_a:b-c", true},
		"an id starting with a digit is accepted":                     {"9rec", true},
		"an empty id is rejected":                                     {"", false},
		"a two-character id is rejected":                              {"ab", false},
		"a 65-character id is rejected":                               {"a" + strings.Repeat("b", 64), false},
		"an id starting with a dash is rejected":                      {"-abc", false},
		"an id starting with a dot is rejected":                       {".abc", false},
		"an id with a space is rejected":                              {"ab c", false},
		"an id with a slash is rejected":                              {"ab/c", false},
		"an id with a trailing newline is rejected":                   {"abc\n", false},
		"an id with a non-ASCII letter is rejected":                   {"abcé", false},
		"an id with a NUL byte is rejected":                           {"abc\x00", false},
	})
}

func TestCheckMSPID(t *testing.T) {
	check(t, ledger.CheckMSPID, map[string]strCase{
		"a typical MSP ID is accepted":               {"Org1MSP", true},
		"a one-character MSP ID is accepted":         {"A", true},
		"a dotted MSP ID with dashes is accepted":    {"org-1.example", true},
		"a 64-character MSP ID is accepted":          {strings.Repeat("M", 64), true},
		"a 65-character MSP ID is rejected":          {strings.Repeat("M", 65), false},
		"an empty MSP ID is rejected":                {"", false},
		"an MSP ID with an underscore is rejected":   {"Org_1", false},
		"an MSP ID starting with a dash is rejected": {"-Org1", false},
		"an MSP ID with a colon is rejected":         {"Org:1", false},
		"an MSP ID with a space is rejected":         {"Org 1", false},
	})
}

func TestCheckTxID(t *testing.T) {
	check(t, ledger.CheckTxID, map[string]strCase{
		"64 lowercase hex digits are accepted": {txA, true},
		"uppercase hex is rejected":            {strings.ToUpper(txA), false},
		"63 hex digits are rejected":           {txA[:63], false},
		"65 hex digits are rejected":           {txA + "0", false},
		"a non-hex letter is rejected":         {"g" + txA[1:], false},
		"an empty transaction ID is rejected":  {"", false},
	})
}

func TestCheckHash32(t *testing.T) {
	check(t, ledger.CheckHash32, map[string]strCase{
		"64 lowercase hex digits are accepted":  {hashB, true},
		"all zeros are accepted":                {strings.Repeat("0", 64), true},
		"uppercase hex is rejected":             {strings.ToUpper(hashB), false},
		"one uppercase digit is rejected":       {"A" + hashA[1:], false},
		"62 hex digits are rejected":            {hashA[:62], false},
		"66 hex digits are rejected":            {hashA + "aa", false},
		"a non-hex character is rejected":       {"z" + hashA[1:], false},
		"base64 of 32 bytes is rejected":        {"qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=", false},
		"64 non-ASCII-free spaces are rejected": {strings.Repeat(" ", 64), false},
		"an empty hash is rejected":             {"", false},
	})
}

// host253 is a valid DNS name of 253 characters: three labels of 63 and one
// of 61, joined by dots.
var host253 = strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61)

func TestCheckEndpoint(t *testing.T) {
	check(t, ledger.CheckEndpoint, map[string]strCase{
		"a DNS name and port are accepted":         {"gw.org1.example:7443", true},
		"an IPv4 address and port are accepted":    {"10.0.0.1:443", true},
		"port 1 is accepted":                       {"gw:1", true},
		"port 65535 is accepted":                   {"gw:65535", true},
		"port 0 is rejected":                       {"gw:0", false},
		"port 65536 is rejected":                   {"gw:65536", false},
		"a six-digit port is rejected":             {"gw:100000", false},
		"a missing port is rejected":               {"gw.example", false},
		"an empty port is rejected":                {"gw:", false},
		"a missing host is rejected":               {":443", false},
		"a URL with a scheme is rejected":          {"https://gw:443", false},
		"an IPv6 literal is rejected":              {"[::1]:443", false},
		"a host with an underscore is rejected":    {"gw_1:443", false},
		"a host longer than 253 is rejected":       {host253 + "a:443", false},
		"a host of 253 characters is accepted":     {host253 + ":443", true},
		"a label longer than 63 is rejected":       {strings.Repeat("a", 64) + ":443", false},
		"a label starting with a dash is rejected": {"-gw:443", false},
		"an empty label is rejected":               {"gw..example:443", false},
		"a path after the port is rejected":        {"gw:443/x", false},
		"an empty endpoint is rejected":            {"", false},
	})
}

func TestCheckDocType(t *testing.T) {
	check(t, ledger.CheckDocType, map[string]strCase{
		"LOINC 11506-3 is accepted":                         {"11506-3", true},
		"LOINC 34133-9 is accepted":                         {"34133-9", true},
		"LOINC 18842-5 is accepted":                         {"18842-5", true},
		"LOINC 60591-5 is accepted":                         {"60591-5", true},
		"LOINC 8310-5 (four digits) is accepted":            {"8310-5", true},
		"LOINC 2160-0 (check digit zero) is accepted":       {"2160-0", true},
		"a LOINC code with a wrong check digit is rejected": {"11506-4", false},
		"34133-9 with check digit 8 is rejected":            {"34133-8", false},
		"18842-5 with check digit 0 is rejected":            {"18842-0", false},
		"60591-5 with swapped digits is rejected":           {"60951-5", false},
		"a LOINC code without its check digit is rejected":  {"11506", false},
		"a LOINC code with a two-digit check is rejected":   {"11506-33", false},
		"an eight-digit LOINC body is rejected":             {"12345678-0", false},
		"a LOINC code with a letter is rejected":            {"1150a-3", false},
		"a LOINC code with surrounding spaces is rejected":  {" 11506-3 ", false},
		"the FHIR type Observation is accepted":             {"Observation", true},
		"the FHIR type DocumentReference is accepted":       {"DocumentReference", true},
		"the FHIR type QuestionnaireResponse is accepted":   {"QuestionnaireResponse", true},
		"a FHIR type in lower case is rejected":             {"observation", false},
		"a FHIR type not on the list is rejected":           {"Patient", false},
		"an empty document type is rejected":                {"", false},
	})
	for _, ty := range ledger.FHIRDocumentTypes {
		if err := ledger.CheckDocType("arg", ty); err != nil {
			t.Errorf("FHIR type %s: %v", ty, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	cases := map[string]struct {
		in   string
		want time.Time
		ok   bool
	}{
		"a UTC time with Z is accepted":              {"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), true},
		"a leap day is accepted":                     {"2028-02-29T00:00:00Z", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), true},
		"a time with a numeric offset is rejected":   {"2026-01-02T15:04:05+00:00", time.Time{}, false},
		"a time with fractional seconds is rejected": {"2026-01-02T15:04:05.5Z", time.Time{}, false},
		"a time without seconds is rejected":         {"2026-01-02T15:04Z", time.Time{}, false},
		"a time with a space separator is rejected":  {"2026-01-02 15:04:05Z", time.Time{}, false},
		"a lower-case z is rejected":                 {"2026-01-02T15:04:05z", time.Time{}, false},
		"a lower-case t is rejected":                 {"2026-01-02t15:04:05Z", time.Time{}, false},
		"a date alone is rejected":                   {"2026-01-02", time.Time{}, false},
		"February 30th is rejected":                  {"2026-02-30T00:00:00Z", time.Time{}, false},
		"hour 24 is rejected":                        {"2026-01-02T24:00:00Z", time.Time{}, false},
		"second 60 is rejected":                      {"2026-01-02T23:59:60Z", time.Time{}, false},
		"a single-digit month is rejected":           {"2026-1-02T15:04:05Z", time.Time{}, false},
		"Unix seconds are rejected":                  {"1767366245", time.Time{}, false},
		"an empty time is rejected":                  {"", time.Time{}, false},
		"trailing text is rejected":                  {"2026-01-02T15:04:05Zx", time.Time{}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ledger.ParseTime("arg", tc.in)
			if !tc.ok {
				wantInvalid(t, err, "arg")
				return
			}
			wantCode(t, err, nil)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("got %v, want %v in UTC", got, tc.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	cases := map[string]struct {
		in   string
		want int
	}{
		"version 1 is accepted":          {"1", 1},
		"version 42 is accepted":         {"42", 42},
		"version 1000000 is accepted":    {"1000000", 1_000_000},
		"version 0 is rejected":          {"0", 0},
		"a negative version is rejected": {"-1", 0},
		"version 1000001 is rejected":    {"1000001", 0},
		"a leading zero is rejected":     {"01", 0},
		"a plus sign is rejected":        {"+1", 0},
		"a decimal point is rejected":    {"1.0", 0},
		"hex is rejected":                {"0x1", 0},
		"a space is rejected":            {" 1", 0},
		"an empty version is rejected":   {"", 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ledger.ParseVersion("arg", tc.in)
			if tc.want == 0 {
				wantInvalid(t, err, "arg")
				return
			}
			wantCode(t, err, nil)
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParsePageSize(t *testing.T) {
	cases := map[string]struct {
		in   string
		want int32
	}{
		"an empty page size means the default": {"", ledger.DefaultPageSize},
		"page size 1 is accepted":              {"1", 1},
		"page size 1000 is accepted":           {"1000", 1000},
		"page size 0 is rejected":              {"0", 0},
		"page size 1001 is rejected":           {"1001", 0},
		"a negative page size is rejected":     {"-5", 0},
		"a leading zero is rejected":           {"050", 0},
		"a plus sign is rejected":              {"+5", 0},
		"a huge number is rejected":            {"99999999999999999999", 0},
		"a word is rejected":                   {"ten", 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ledger.ParsePageSize("arg", tc.in)
			if tc.want == 0 {
				wantInvalid(t, err, "arg")
				return
			}
			wantCode(t, err, nil)
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCheckBookmark(t *testing.T) {
	check(t, ledger.CheckBookmark, map[string]strCase{
		"an empty bookmark is accepted":                  {"", true},
		"an opaque bookmark is accepted":                 {"\x00\x01g1AAAA", true},
		"a bookmark of 1024 bytes is accepted":           {strings.Repeat("b", 1024), true},
		"a bookmark of 1025 bytes is rejected":           {strings.Repeat("b", 1025), false},
		"a bookmark that is not valid UTF-8 is rejected": {"abc\xff", false},
	})
}

func TestParseRole(t *testing.T) {
	for _, r := range ledger.Roles {
		got, err := ledger.ParseRole("arg", string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for name, in := range map[string]string{
		"an empty role is rejected":                "",
		"a role in upper case is rejected":         "CLINICIAN",
		"an unknown role is rejected":              "nurse",
		"a role with a trailing space is rejected": "clinician ",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.ParseRole("arg", in)
			wantInvalid(t, err, "arg")
		})
	}
}

func TestParseConfidentiality(t *testing.T) {
	for _, c := range ledger.Confidentialities {
		got, err := ledger.ParseConfidentiality("arg", string(c))
		if err != nil || got != c {
			t.Errorf("ParseConfidentiality(%q) = %q, %v", c, got, err)
		}
	}
	for name, in := range map[string]string{
		"an empty code is rejected":       "",
		"a lower-case code is rejected":   "n",
		"an unknown letter is rejected":   "X",
		"a spelled-out level is rejected": "normal",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.ParseConfidentiality("arg", in)
			wantInvalid(t, err, "arg")
		})
	}
}

func TestParsePurpose(t *testing.T) {
	for _, p := range ledger.Purposes {
		got, err := ledger.ParsePurpose("arg", string(p))
		if err != nil || got != p {
			t.Errorf("ParsePurpose(%q) = %q, %v", p, got, err)
		}
	}
	for name, in := range map[string]string{
		"an empty purpose is rejected":            "",
		"a lower-case purpose is rejected":        "treat",
		"an HL7 purpose not accepted is rejected": "MARKT",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.ParsePurpose("arg", in)
			wantInvalid(t, err, "arg")
		})
	}
}

func TestConfidentialityCoversIsOrderedULMNRV(t *testing.T) {
	order := "ULMNRV"
	for i := range order {
		for j := range order {
			c, x := ledger.Confidentiality(order[i:i+1]), ledger.Confidentiality(order[j:j+1])
			if got, want := c.Covers(x), i >= j; got != want {
				t.Errorf("%s.Covers(%s) = %v, want %v", c, x, got, want)
			}
		}
	}
	if got := ledger.Confidentialities; len(got) != len(order) {
		t.Fatalf("Confidentialities has %d codes, want %d", len(got), len(order))
	}
	for i, c := range ledger.Confidentialities {
		if string(c) != order[i:i+1] {
			t.Errorf("Confidentialities[%d] = %s, want %s", i, c, order[i:i+1])
		}
	}
}

func TestConfidentialityUnknownClearanceCoversNothing(t *testing.T) {
	for name, clearance := range map[string]ledger.Confidentiality{
		"an empty clearance covers no level":   "",
		"an unknown clearance covers no level": "X",
	} {
		t.Run(name, func(t *testing.T) {
			for _, level := range ledger.Confidentialities {
				if clearance.Covers(level) {
					t.Errorf("%q.Covers(%q) = true, want false", clearance, level)
				}
			}
		})
	}
}

func TestConfidentialityUnknownLevelIsCoveredByNoClearance(t *testing.T) {
	for name, level := range map[string]ledger.Confidentiality{
		"an empty level is covered by no clearance":   "",
		"an unknown level is covered by no clearance": "X",
	} {
		t.Run(name, func(t *testing.T) {
			for _, clearance := range []ledger.Confidentiality{"U", "L", "M", "N", "R", "V", "", "Y"} {
				if clearance.Covers(level) {
					t.Errorf("%q.Covers(%q) = true, want false", clearance, level)
				}
			}
		})
	}
}
