//go:build pkcs11

package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// ErrPKCS11Unsupported is returned by OpenPKCS11Keyring in binaries built
// without the pkcs11 build tag. This binary has the tag, so it is never
// returned; it is declared so callers compile either way.
var ErrPKCS11Unsupported = errors.New("built without PKCS#11 support: build with -tags pkcs11")

const (
	pkcs11KeyPrefix   = "p11-"
	pkcs11ActiveLabel = "medprov-active-kek"
	pkcs11TagBits     = tagSize * 8
)

// PKCS11Keyring is a production keyring whose KEKs are AES-256 secret keys
// on a PKCS#11 token (an HSM, or SoftHSM2 for tests). Each key is a token
// object (CKO_SECRET_KEY, CKK_AES, 32 bytes) with CKA_SENSITIVE true and
// CKA_EXTRACTABLE false, identified by its CKA_LABEL, which is the key ID
// ("p11-" and 16 hex digits for keys made by Generate). The raw key never
// leaves the token: Wrap and Unwrap run CKM_AES_GCM on the token.
//
// The active key's label is kept on the token, in a private data object
// (CKO_DATA) with CKA_APPLICATION = the namespace (WithPKCS11Namespace,
// default "medprov-store") and CKA_LABEL "medprov-active-kek", whose
// CKA_VALUE is a sequence number and the label. So every process using the token agrees on the
// active key, and rotation (Generate) is one token write.
//
// All token calls go through one session guarded by a mutex, so a
// PKCS11Keyring is safe for concurrent use; calls are serialised.
type PKCS11Keyring struct {
	cfg    pkcs11Config
	module string
	token  string
	mod    *pkcs11Module
	slot   uint

	mu      sync.Mutex
	session pkcs11.SessionHandle
	closed  bool
	keys    map[string]*pkcs11KEK
	active  string
}

// pkcs11Module is a loaded, initialised PKCS#11 library, shared by the
// keyrings of this process that use the same module path: C_Initialize and
// C_Finalize act on the whole process, and so does the login state of a
// token, so both are reference-counted.
type pkcs11Module struct {
	path   string
	ctx    *pkcs11.Ctx
	refs   int
	logins map[uint]int      // slot → keyrings logged in
	pins   map[uint][32]byte // slot → SHA-256 of the PIN that logged in
}

var (
	pkcs11ModulesMu sync.Mutex
	pkcs11Modules   = map[string]*pkcs11Module{}
)

func acquirePKCS11Module(path string) (*pkcs11Module, error) {
	pkcs11ModulesMu.Lock()
	defer pkcs11ModulesMu.Unlock()
	if m, ok := pkcs11Modules[path]; ok {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: cannot load module %s", path)
	}
	if err := ctx.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		ctx.Destroy()
		return nil, fmt.Errorf("pkcs11: initialize %s: %w", path, err)
	}
	m := &pkcs11Module{path: path, ctx: ctx, refs: 1, logins: map[uint]int{}, pins: map[uint][32]byte{}}
	pkcs11Modules[path] = m
	return m, nil
}

// release drops one reference; the last one finalizes and unloads the
// module.
func (m *pkcs11Module) release() error {
	pkcs11ModulesMu.Lock()
	defer pkcs11ModulesMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(pkcs11Modules, m.path)
	err := m.ctx.Finalize()
	m.ctx.Destroy()
	return err
}

// OpenPKCS11Keyring loads the PKCS#11 library at module, finds the token
// whose label is tokenLabel, opens a read-write session and logs in as the
// normal user with pin. If the token has no active-key record and no
// medprov key yet, it generates a first key and makes it active (like
// NewFileKeyring); if it has keys but no active-key record it fails. It
// fails too if the active key is missing or is not an AES-256 key that is
// sensitive and not extractable. Close the keyring when done.
func OpenPKCS11Keyring(module, tokenLabel, pin string, opts ...PKCS11Option) (*PKCS11Keyring, error) {
	cfg := defaultPKCS11Config()
	for _, o := range opts {
		o(&cfg)
	}
	mod, err := acquirePKCS11Module(module)
	if err != nil {
		return nil, err
	}
	k := &PKCS11Keyring{cfg: cfg, module: module, token: tokenLabel, mod: mod, keys: map[string]*pkcs11KEK{}}
	fail := func(err error) (*PKCS11Keyring, error) {
		_ = mod.release()
		return nil, fmt.Errorf("pkcs11 keyring (token %q): %w", tokenLabel, err)
	}
	k.slot, err = findPKCS11Slot(mod.ctx, tokenLabel)
	if err != nil {
		return fail(err)
	}
	k.session, err = mod.ctx.OpenSession(k.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fail(fmt.Errorf("open session: %w", err))
	}
	if err := k.login(pin); err != nil {
		_ = mod.ctx.CloseSession(k.session)
		return fail(err)
	}
	if err := k.loadActive(); err != nil {
		_ = k.Close()
		return nil, fmt.Errorf("pkcs11 keyring (token %q): %w", tokenLabel, err)
	}
	return k, nil
}

func findPKCS11Slot(ctx *pkcs11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("slot list: %w", err)
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if strings.TrimRight(ti.Label, " \x00") == label {
			return s, nil
		}
	}
	return 0, fmt.Errorf("no token labelled %q", label)
}

func (k *PKCS11Keyring) login(pin string) error {
	pkcs11ModulesMu.Lock()
	defer pkcs11ModulesMu.Unlock()
	sum := sha256.Sum256([]byte(pin))
	if k.mod.logins[k.slot] > 0 {
		// The token's login state is shared by the process's sessions, and
		// C_Login would not check the PIN again: compare with the one that
		// logged in.
		prev := k.mod.pins[k.slot]
		if subtle.ConstantTimeCompare(sum[:], prev[:]) != 1 {
			return fmt.Errorf("login: %w", pkcs11.Error(pkcs11.CKR_PIN_INCORRECT))
		}
		k.mod.logins[k.slot]++
		return nil
	}
	err := k.mod.ctx.Login(k.session, pkcs11.CKU_USER, pin)
	if err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		return fmt.Errorf("login: %w", err)
	}
	k.mod.logins[k.slot] = 1
	k.mod.pins[k.slot] = sum
	return nil
}

// loadActive reads the active-key record, generating a first key on an
// empty token.
func (k *PKCS11Keyring) loadActive() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, _, _, err := k.readActiveLocked()
	if err != nil {
		return err
	}
	if id == "" {
		keys, err := k.findLocked([]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		}, 0)
		if err != nil {
			return err
		}
		for _, h := range keys {
			attrs, err := k.mod.ctx.GetAttributeValue(k.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil)})
			if err == nil && strings.HasPrefix(string(attrs[0].Value), pkcs11KeyPrefix) {
				return fmt.Errorf("token holds key %q but no active-key record (%s/%s)", attrs[0].Value, k.cfg.namespace, pkcs11ActiveLabel)
			}
		}
		_, err = k.generateLocked()
		return err
	}
	if _, err := k.lookupLocked(id); err != nil {
		return fmt.Errorf("active key: %w", err)
	}
	k.active = id
	return nil
}

func (k *PKCS11Keyring) activeTemplate() []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_APPLICATION, k.cfg.namespace),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, pkcs11ActiveLabel),
	}
}

// readActiveLocked returns the active key ID recorded on the token, the
// record's sequence number and the handles of all active-key records, or ""
// if there is none. A record's CKA_VALUE is an 8-byte big-endian sequence
// number followed by the key ID; CKA_VALUE of a data object is read-only on
// some tokens (SoftHSM2), so setActiveLocked creates a new record with the
// next number before destroying the old ones, and if a crash left several,
// the highest number wins.
func (k *PKCS11Keyring) readActiveLocked() (string, uint64, []pkcs11.ObjectHandle, error) {
	hs, err := k.findLocked(k.activeTemplate(), 0)
	if err != nil {
		return "", 0, nil, err
	}
	var id string
	var seq uint64
	for _, h := range hs {
		attrs, err := k.mod.ctx.GetAttributeValue(k.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err != nil {
			return "", 0, nil, fmt.Errorf("read active-key record: %w", err)
		}
		v := attrs[0].Value
		if len(v) < 9 || !kekIDPattern.MatchString(string(v[8:])) {
			return "", 0, nil, fmt.Errorf("malformed active-key record (%s/%s)", k.cfg.namespace, pkcs11ActiveLabel)
		}
		if n := binary.BigEndian.Uint64(v[:8]); id == "" || n > seq {
			id, seq = string(v[8:]), n
		}
	}
	return id, seq, hs, nil
}

func (k *PKCS11Keyring) setActiveLocked(id string) error {
	_, seq, old, err := k.readActiveLocked()
	if err != nil {
		return err
	}
	value := binary.BigEndian.AppendUint64(nil, seq+1)
	value = append(value, id...)
	_, err = k.mod.ctx.CreateObject(k.session, append(k.activeTemplate(),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, value),
	))
	if err != nil {
		return fmt.Errorf("write active-key record: %w", err)
	}
	k.active = id
	for _, h := range old {
		if err := k.mod.ctx.DestroyObject(k.session, h); err != nil {
			return fmt.Errorf("remove old active-key record: %w", err)
		}
	}
	return nil
}

// findLocked returns the handles of the objects matching template, at most
// max of them (0: all).
func (k *PKCS11Keyring) findLocked(template []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	if err := k.mod.ctx.FindObjectsInit(k.session, template); err != nil {
		return nil, fmt.Errorf("find objects: %w", err)
	}
	var out []pkcs11.ObjectHandle
	for max == 0 || len(out) < max {
		hs, _, err := k.mod.ctx.FindObjects(k.session, 16)
		if err != nil {
			_ = k.mod.ctx.FindObjectsFinal(k.session)
			return nil, fmt.Errorf("find objects: %w", err)
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := k.mod.ctx.FindObjectsFinal(k.session); err != nil {
		return nil, fmt.Errorf("find objects: %w", err)
	}
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func (k *PKCS11Keyring) lookupLocked(id string) (*pkcs11KEK, error) {
	if k.closed {
		return nil, fmt.Errorf("pkcs11 keyring: %w", ErrClosed)
	}
	if kek, ok := k.keys[id]; ok {
		return kek, nil
	}
	if !kekIDPattern.MatchString(id) {
		return nil, fmt.Errorf("key %q: %w", id, ErrKeyUnavailable)
	}
	hs, err := k.findLocked([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, id),
	}, 2)
	if err != nil {
		return nil, err
	}
	switch len(hs) {
	case 0:
		return nil, fmt.Errorf("key %q: %w", id, ErrKeyUnavailable)
	case 1:
	default:
		return nil, fmt.Errorf("key %q: more than one token key has this label", id)
	}
	attrs, err := k.mod.ctx.GetAttributeValue(k.session, hs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("key %q: attributes: %w", id, err)
	}
	typ, _ := pkcs11ULong(attrs[0].Value)
	n, _ := pkcs11ULong(attrs[1].Value)
	if typ != pkcs11.CKK_AES || n != kekSize {
		return nil, fmt.Errorf("key %q: not an AES-256 key", id)
	}
	if !pkcs11Bool(attrs[2].Value) || pkcs11Bool(attrs[3].Value) {
		return nil, fmt.Errorf("key %q: must be sensitive and not extractable", id)
	}
	kek := &pkcs11KEK{id: id, ring: k, handle: hs[0]}
	k.keys[id] = kek
	return kek, nil
}

func pkcs11Bool(v []byte) bool { return len(v) == 1 && v[0] != 0 }

func pkcs11ULong(v []byte) (uint, bool) {
	if len(v) == 0 || len(v) > 8 {
		return 0, false
	}
	// CK_ULONG in host (little-endian on the platforms we target) order.
	var x uint
	for i := len(v) - 1; i >= 0; i-- {
		x = x<<8 | uint(v[i])
	}
	return x, true
}

func (k *PKCS11Keyring) generateLocked() (string, error) {
	if k.closed {
		return "", fmt.Errorf("pkcs11 keyring: %w", ErrClosed)
	}
	var idb [8]byte
	rand.Read(idb[:])
	id := pkcs11KeyPrefix + hex.EncodeToString(idb[:])
	_, err := k.mod.ctx.GenerateKey(k.session,
		[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, kekSize),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, id),
			pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
		})
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	if _, err := k.lookupLocked(id); err != nil {
		return "", err
	}
	if err := k.setActiveLocked(id); err != nil {
		return "", err
	}
	return id, nil
}

// Generate creates a new AES-256 key on the token and makes it the active
// key. It returns the new key's ID. Existing keys are kept, so data keys
// wrapped under them stay readable until Store.RewrapAll has run.
func (k *PKCS11Keyring) Generate(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.generateLocked()
}

// SetActive makes the token key with the given ID the active one. It
// returns an error wrapping ErrKeyUnavailable if the token has no such key.
func (k *PKCS11Keyring) SetActive(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := k.lookupLocked(id); err != nil {
		return err
	}
	return k.setActiveLocked(id)
}

// Delete destroys the token key with the given ID. Data keys still wrapped
// under it become unreadable, so run Store.RewrapAll first. It refuses to
// delete the active key.
func (k *PKCS11Keyring) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	kek, err := k.lookupLocked(id)
	if err != nil {
		return err
	}
	if id == k.active {
		return fmt.Errorf("pkcs11 keyring: key %q is active", id)
	}
	if err := k.mod.ctx.DestroyObject(k.session, kek.handle); err != nil {
		return fmt.Errorf("pkcs11 keyring: delete %q: %w", id, err)
	}
	delete(k.keys, id)
	return nil
}

// Active returns the active key. It rereads the active-key record on the
// token, so a rotation by another process is seen.
func (k *PKCS11Keyring) Active(ctx context.Context) (KEK, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("pkcs11 keyring: %w", ErrClosed)
	}
	id, _, _, err := k.readActiveLocked()
	if err != nil {
		return nil, fmt.Errorf("pkcs11 keyring: %w", err)
	}
	if id == "" {
		return nil, fmt.Errorf("pkcs11 keyring: active-key record missing: %w", ErrKeyUnavailable)
	}
	kek, err := k.lookupLocked(id)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 keyring: active %w", err)
	}
	k.active = id
	return kek, nil
}

// Lookup returns the key with the given ID, or an error wrapping
// ErrKeyUnavailable.
func (k *PKCS11Keyring) Lookup(ctx context.Context, id string) (KEK, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	kek, err := k.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	return kek, nil
}

// Close logs out (when no other keyring of this process is logged in to
// the token), closes the session and, with the last keyring using the
// module, finalizes and unloads it. Keys obtained from the keyring stop
// working.
func (k *PKCS11Keyring) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	clear(k.keys)
	var errs []error
	pkcs11ModulesMu.Lock()
	k.mod.logins[k.slot]--
	if k.mod.logins[k.slot] <= 0 {
		delete(k.mod.logins, k.slot)
		delete(k.mod.pins, k.slot)
		if err := k.mod.ctx.Logout(k.session); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)) {
			errs = append(errs, fmt.Errorf("logout: %w", err))
		}
	}
	pkcs11ModulesMu.Unlock()
	if err := k.mod.ctx.CloseSession(k.session); err != nil {
		errs = append(errs, fmt.Errorf("close session: %w", err))
	}
	if err := k.mod.release(); err != nil {
		errs = append(errs, fmt.Errorf("finalize: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pkcs11 keyring (token %q): %w", k.token, err)
	}
	return nil
}

// LogValue describes the keyring without secrets (the PIN is not kept).
func (k *PKCS11Keyring) LogValue() slog.Value {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slog.GroupValue(slog.String("module", k.module), slog.String("token", k.token), slog.String("active", k.active))
}

// pkcs11KEK is an AES-256 key on a token. A wrapped DEK has the same layout
// as the file keyring's: format byte (1) || 12-byte random IV || AES-GCM
// ciphertext and 16-byte tag of the DEK, with the key ID as additional
// data, all computed on the token.
type pkcs11KEK struct {
	id     string
	ring   *PKCS11Keyring
	handle pkcs11.ObjectHandle
}

func (p *pkcs11KEK) ID() string { return p.id }

func (p *pkcs11KEK) Wrap(ctx context.Context, dek []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	iv := make([]byte, wrapNonceSize)
	rand.Read(iv)
	k := p.ring
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("pkcs11 KEK %q: %w", p.id, ErrClosed)
	}
	params := pkcs11.NewGCMParams(iv, []byte(p.id), pkcs11TagBits)
	defer params.Free()
	if err := k.mod.ctx.EncryptInit(k.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, p.handle); err != nil {
		return nil, fmt.Errorf("pkcs11 KEK %q: wrap: %w", p.id, err)
	}
	ct, err := k.mod.ctx.Encrypt(k.session, dek)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 KEK %q: wrap: %w", p.id, err)
	}
	if got := params.IV(); len(got) != wrapNonceSize {
		return nil, fmt.Errorf("pkcs11 KEK %q: wrap: token returned a %d-byte IV", p.id, len(got))
	} else {
		iv = got // a token may replace the IV with its own
	}
	if len(ct) != len(dek)+tagSize {
		return nil, fmt.Errorf("pkcs11 KEK %q: wrap: unexpected ciphertext length %d", p.id, len(ct))
	}
	out := make([]byte, 0, 1+wrapNonceSize+len(ct))
	out = append(out, wrapFormat)
	out = append(out, iv...)
	return append(out, ct...), nil
}

func (p *pkcs11KEK) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(wrapped) < 1+wrapNonceSize+tagSize || wrapped[0] != wrapFormat {
		return nil, fmt.Errorf("%w: malformed wrapped key", ErrCorrupt)
	}
	k := p.ring
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("pkcs11 KEK %q: %w", p.id, ErrClosed)
	}
	params := pkcs11.NewGCMParams(wrapped[1:1+wrapNonceSize], []byte(p.id), pkcs11TagBits)
	defer params.Free()
	if err := k.mod.ctx.DecryptInit(k.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, p.handle); err != nil {
		return nil, fmt.Errorf("pkcs11 KEK %q: unwrap: %w", p.id, err)
	}
	dek, err := k.mod.ctx.Decrypt(k.session, wrapped[1+wrapNonceSize:])
	if err != nil {
		// DecryptInit accepted the key and IV, so a failure here is the tag
		// check (SoftHSM2 reports it as CKR_GENERAL_ERROR, others as
		// CKR_ENCRYPTED_DATA_INVALID).
		return nil, fmt.Errorf("%w: wrapped key does not authenticate under KEK %q (%v)", ErrCorrupt, p.id, err)
	}
	return dek, nil
}

// LogValue describes the key; its value never leaves the token.
func (p *pkcs11KEK) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", p.id), slog.String("key", "on token"))
}

// String describes the key.
func (p *pkcs11KEK) String() string { return "KEK(" + p.id + ", pkcs11)" }
