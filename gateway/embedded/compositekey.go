package embedded

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Key-format constants shared with the Fabric shim.
const (
	minUnicodeRune        = 0            // U+0000, the composite-key separator
	maxUnicodeRune        = utf8.MaxRune // U+10FFFF, the range-end sentinel
	compositeKeyNamespace = "\x00"
	emptyKeySubstitute    = "\x01"
)

// createCompositeKey builds the composite key the shim builds:
// 0x00 objectType 0x00 attr1 0x00 attr2 0x00 ...
func createCompositeKey(objectType string, attributes []string) (string, error) {
	if err := validateCompositeKeyAttribute(objectType); err != nil {
		return "", err
	}
	n := 2 + len(objectType)
	for _, a := range attributes {
		n += len(a) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, compositeKeyNamespace...)
	b = append(b, objectType...)
	b = append(b, minUnicodeRune)
	for _, a := range attributes {
		if err := validateCompositeKeyAttribute(a); err != nil {
			return "", err
		}
		b = append(b, a...)
		b = append(b, minUnicodeRune)
	}
	return string(b), nil
}

// splitCompositeKey parses a key built by createCompositeKey. Unlike the
// shim, which panics on some malformed input, it returns an error for a key
// that does not start with 0x00 or does not end with a separator.
func splitCompositeKey(compositeKey string) (string, []string, error) {
	if len(compositeKey) < 2 || compositeKey[0] != compositeKeyNamespace[0] || compositeKey[len(compositeKey)-1] != minUnicodeRune {
		return "", nil, fmt.Errorf("key %q is not a composite key", compositeKey)
	}
	components := []string{}
	start := 1
	for i := 1; i < len(compositeKey); i++ {
		if compositeKey[i] == minUnicodeRune {
			components = append(components, compositeKey[start:i])
			start = i + 1
		}
	}
	return components[0], components[1:], nil
}

func validateCompositeKeyAttribute(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not a valid utf8 string: [%x]", s)
	}
	for i, r := range s {
		if r == minUnicodeRune || r == maxUnicodeRune {
			return fmt.Errorf("input contains unicode %#U starting at position [%d]. %#U and %#U are not allowed in the input attribute of a composite key",
				r, i, minUnicodeRune, maxUnicodeRune)
		}
	}
	return nil
}

// validateSimpleKeys rejects range bounds in the composite-key namespace.
func validateSimpleKeys(keys ...string) error {
	for _, k := range keys {
		if len(k) > 0 && k[0] == compositeKeyNamespace[0] {
			return fmt.Errorf("first character of the key [%s] contains a null character which is not allowed", k)
		}
	}
	return nil
}

// partialCompositeKeyRange returns the range covering every composite key
// that extends the partial key (objectType, attributes).
func partialCompositeKeyRange(objectType string, attributes []string) (string, string, error) {
	start, err := createCompositeKey(objectType, attributes)
	if err != nil {
		return "", "", err
	}
	return start, start + string(rune(maxUnicodeRune)), nil
}

var errEmptyKey = errors.New("key must not be an empty string")
