package embedded

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// asn1Header is the structure Fabric encodes for a block header.
type asn1Header struct {
	Number       *big.Int
	PreviousHash []byte
	DataHash     []byte
}

func TestHeaderBytesAreTheDEREncodingFabricHashes(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 300)
	tests := map[string]BlockHeader{
		"the genesis header":                  {Number: 0, DataHash: make([]byte, 32)},
		"a header with both hashes":           {Number: 7, PreviousHash: bytes.Repeat([]byte{1}, 32), DataHash: bytes.Repeat([]byte{2}, 32)},
		"a number with the high bit set":      {Number: 0x80, PreviousHash: []byte{1}, DataHash: []byte{2}},
		"the largest block number":            {Number: ^uint64(0), PreviousHash: []byte{1}, DataHash: []byte{2}},
		"hashes long enough for long lengths": {Number: 1 << 40, PreviousHash: long, DataHash: long},
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			want, err := asn1.Marshal(asn1Header{Number: new(big.Int).SetUint64(h.Number), PreviousHash: h.PreviousHash, DataHash: h.DataHash})
			if err != nil {
				t.Fatal(err)
			}
			if got := headerBytes(h); !bytes.Equal(got, want) {
				t.Fatalf("headerBytes = %x\nencoding/asn1 = %x", got, want)
			}
		})
	}
}
