package contract

import (
	"fmt"
	"reflect"

	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"
)

// stringSerializer passes string arguments and results through unchanged.
// Every medprov transaction takes and returns strings and validates them
// itself (strict JSON decoding, patterns, code lists), so the contract
// API's JSON-schema check of each string would only repeat work on every
// call.
type stringSerializer struct{}

// FromString returns the argument as it came, for string parameters.
func (stringSerializer) FromString(s string, t reflect.Type, _ *metadata.ParameterMetadata, _ *metadata.ComponentMetadata) (reflect.Value, error) {
	if t.Kind() != reflect.String {
		return reflect.Value{}, fmt.Errorf("medprov transactions take string arguments, not %s", t)
	}
	return reflect.ValueOf(s).Convert(t), nil
}

// ToString returns the result as it is, for string results.
func (stringSerializer) ToString(v reflect.Value, t reflect.Type, _ *metadata.ReturnMetadata, _ *metadata.ComponentMetadata) (string, error) {
	if t.Kind() != reflect.String {
		return "", fmt.Errorf("medprov transactions return strings, not %s", t)
	}
	return v.String(), nil
}
