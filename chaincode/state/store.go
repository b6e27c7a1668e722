package state

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Store reads and writes medprov documents through one transaction's stub.
type Store struct {
	stub shim.ChaincodeStubInterface
}

// New returns a Store over stub.
func New(stub shim.ChaincodeStubInterface) *Store { return &Store{stub: stub} }

// document is what every stored document has.
type document struct {
	Kind          string `json:"kind"`
	SchemaVersion int    `json:"schemaVersion"`
}

func (s *Store) key(obj string, attrs ...string) (string, error) {
	k, err := s.stub.CreateCompositeKey(obj, attrs)
	if err != nil {
		return "", ledger.Internal("build key", err)
	}
	return k, nil
}

// read loads the document at key into v and checks its kind and schema
// version. A missing key is ledger.ErrNotFound, reported with what.
func (s *Store) read(key, kind, what string, v any) error {
	b, err := s.stub.GetState(key)
	if err != nil {
		return ledger.Internal("read state", err)
	}
	if b == nil {
		return ledger.NotFound("%s", what)
	}
	return decode(b, kind, v)
}

func decode(b []byte, kind string, v any) error {
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		return ledger.Internal("decode "+kind, err)
	}
	if d.Kind != kind || d.SchemaVersion != ledger.SchemaVersion {
		return ledger.Internal("decode "+kind, fmt.Errorf("stored document is %s v%d", d.Kind, d.SchemaVersion))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return ledger.Internal("decode "+kind, err)
	}
	return nil
}

func (s *Store) exists(key string) (bool, error) {
	b, err := s.stub.GetState(key)
	if err != nil {
		return false, ledger.Internal("read state", err)
	}
	return b != nil, nil
}

func (s *Store) write(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return ledger.Internal("encode document", err)
	}
	if err := s.stub.PutState(key, b); err != nil {
		return ledger.Internal("write state", err)
	}
	return nil
}

func (s *Store) mark(obj string, attrs ...string) error {
	k, err := s.key(obj, attrs...)
	if err != nil {
		return err
	}
	if err := s.stub.PutState(k, marker); err != nil {
		return ledger.Internal("write index", err)
	}
	return nil
}

// Emit sets the transaction's chaincode event. Payloads carry identifiers
// only, never content. Fabric keeps one event per transaction; every write
// transaction calls Emit exactly once.
func (s *Store) Emit(name string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return ledger.Internal("encode event", err)
	}
	if err := s.stub.SetEvent(name, b); err != nil {
		return ledger.Internal("set event", err)
	}
	return nil
}

// scan is one page of a partial-composite-key range: the attributes of each
// key and the shim's bookmark for the next page.
type scan struct {
	keys     []string
	attrs    [][]string
	bookmark string
}

// page reads up to size keys under obj+prefix starting at bookmark (an
// inner, shim bookmark); arg names the argument the bookmark came in. The
// bookmark is checked to lie under the same prefix, so a forged bookmark
// cannot widen the query.
func (s *Store) page(arg, obj string, prefix []string, size int32, bookmark string) (scan, error) {
	if bookmark != "" {
		start, err := s.key(obj, prefix...)
		if err != nil {
			return scan{}, err
		}
		if !strings.HasPrefix(bookmark, start) {
			return scan{}, ledger.InvalidArgument(arg, "want a bookmark returned by a previous page of the same query")
		}
	}
	it, meta, err := s.stub.GetStateByPartialCompositeKeyWithPagination(obj, prefix, size, bookmark)
	if err != nil {
		return scan{}, ledger.Internal("range query", err)
	}
	defer it.Close()
	var out scan
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return scan{}, ledger.Internal("range query", err)
		}
		_, attrs, err := s.stub.SplitCompositeKey(kv.Key)
		if err != nil {
			return scan{}, ledger.Internal("split key", err)
		}
		out.keys = append(out.keys, kv.Key)
		out.attrs = append(out.attrs, attrs)
	}
	if meta != nil {
		out.bookmark = meta.Bookmark
	}
	return out, nil
}

// visiblePage pages through obj+prefix, keeping the keys keep accepts, until
// size are kept or the range ends. Its bookmark is the last kept key plus a
// zero byte (the smallest key after it), so a bookmark only ever names
// something the caller was shown: the shim's own bookmark is the next key,
// which could be one the caller may not see.
func (s *Store) visiblePage(arg, obj string, prefix []string, size int32, bookmark string, keep func(attrs []string) (bool, error)) ([][]string, string, error) {
	var out [][]string
	for {
		sc, err := s.page(arg, obj, prefix, size-int32(len(out)), bookmark)
		if err != nil {
			return nil, "", err
		}
		for i, attrs := range sc.attrs {
			ok, err := keep(attrs)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				continue
			}
			out = append(out, attrs)
			if int32(len(out)) == size {
				if i == len(sc.attrs)-1 && sc.bookmark == "" {
					return out, "", nil
				}
				return out, sc.keys[i] + "\x00", nil
			}
		}
		if sc.bookmark == "" {
			return out, "", nil
		}
		bookmark = sc.bookmark
	}
}

// all reads every key under obj+prefix without pagination: the only kind of
// range query Fabric allows in a transaction that writes.
func (s *Store) all(obj string, prefix []string) ([][]string, error) {
	it, err := s.stub.GetStateByPartialCompositeKey(obj, prefix)
	if err != nil {
		return nil, ledger.Internal("range query", err)
	}
	defer it.Close()
	var out [][]string
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, ledger.Internal("range query", err)
		}
		_, attrs, err := s.stub.SplitCompositeKey(kv.Key)
		if err != nil {
			return nil, ledger.Internal("split key", err)
		}
		out = append(out, attrs)
	}
	return out, nil
}

// Bookmarks handed to clients are opaque: base64url of "tag|inner", where
// tag names the query and inner is the shim's bookmark or our own cursor.
func encodeBookmark(tag, inner string) string {
	if inner == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(tag + "|" + inner))
}

func decodeBookmark(arg, tag, b string) (string, error) {
	if b == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(b)
	if err != nil {
		return "", ledger.InvalidArgument(arg, "want a bookmark returned by a previous page")
	}
	inner, ok := strings.CutPrefix(string(raw), tag+"|")
	if !ok || inner == "" {
		return "", ledger.InvalidArgument(arg, "want a bookmark returned by a previous page of the same query")
	}
	return inner, nil
}
