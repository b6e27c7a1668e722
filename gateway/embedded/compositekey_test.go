package embedded

import (
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

func TestCompositeKeyFormat(t *testing.T) {
	tests := map[string]struct {
		objectType string
		attrs      []string
		want       string
		wantErr    bool
	}{
		"an object type alone ends with a separator": {objectType: "asset", want: "\x00asset\x00"},
		"each attribute is followed by a separator":  {objectType: "asset", attrs: []string{"a", "b"}, want: "\x00asset\x00a\x00b\x00"},
		"empty attributes are kept":                  {objectType: "t", attrs: []string{"", "x"}, want: "\x00t\x00\x00x\x00"},
		"a NUL in an attribute is rejected":          {objectType: "t", attrs: []string{"a\x00b"}, wantErr: true},
		"U+10FFFF in the object type is rejected":    {objectType: "t\U0010FFFF", wantErr: true},
		"invalid UTF-8 is rejected":                  {objectType: "t", attrs: []string{"\xff"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := createCompositeKey(tc.objectType, tc.attrs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("key = %q, want %q", got, tc.want)
			}
		})
	}
	for name, key := range map[string]string{
		"an empty key is not a composite key":          "",
		"a simple key is not a composite key":          "asset",
		"a key without final separator is malformed":   "\x00asset\x00a",
		"a lone namespace byte is not a composite key": "\x00",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := splitCompositeKey(key); err == nil {
				t.Fatalf("splitCompositeKey(%q) succeeded", key)
			}
		})
	}
}

// FuzzCompositeKey checks that composite keys match the shim's format and
// survive a create/split round trip, and that splitting never panics.
// Attributes are given as one string separated by '|'.
func FuzzCompositeKey(f *testing.F) {
	f.Add("asset", "a|b")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, objectType, joined string) {
		var attrs []string
		if joined != "" {
			attrs = strings.Split(joined, "|")
		}
		want, wantErr := shim.CreateCompositeKey(objectType, attrs)
		got, err := createCompositeKey(objectType, attrs)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("create error %v, shim error %v", err, wantErr)
		}
		if err == nil {
			if got != want {
				t.Fatalf("key %q, shim key %q", got, want)
			}
			ot, parts, err := splitCompositeKey(got)
			if err != nil || ot != objectType || !slices.Equal(parts, attrs) && !(len(parts) == 0 && len(attrs) == 0) {
				t.Fatalf("split(%q) = %q %q %v, want %q %q", got, ot, parts, err, objectType, attrs)
			}
		}
		// Arbitrary input: split must not panic, and a successful split of
		// valid components recreates the same key.
		for _, key := range []string{objectType, "\x00" + objectType, "\x00" + objectType + "\x00"} {
			ot, parts, err := splitCompositeKey(key)
			if err != nil {
				continue
			}
			if again, err := createCompositeKey(ot, parts); err == nil && again != key {
				t.Fatalf("split/create of %q gave %q", key, again)
			}
		}
	})
}
