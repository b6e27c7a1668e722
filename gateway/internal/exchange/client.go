package exchange

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	domain "github.com/medprov/medprov/chaincode/ledger"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Defaults and limits of a Client.
const (
	// DefaultDialTimeout bounds how long Fetch waits for a connection to
	// the custodian's gateway (TCP, TLS handshake) when no WithDialTimeout
	// is given.
	DefaultDialTimeout = 10 * time.Second
	// DefaultMaxRecordSize is the largest record Fetch accepts when no
	// WithMaxRecordSize is given: 4 GiB, room for a large imaging study.
	DefaultMaxRecordSize int64 = 4 << 30
	// MaxChunkSize is the largest content chunk a custodian may send
	// (exchange_service.proto); a larger message fails the transfer with
	// codes.ResourceExhausted.
	MaxChunkSize = 4 << 20
	// maxRecvMsg leaves room for the framing of a chunk message and for
	// the header.
	maxRecvMsg = MaxChunkSize + 64<<10
)

// Sentinels of the requester side; match them with errors.Is.
var (
	// ErrProtocol: the custodian's stream is not a header followed by
	// chunks (no header, a chunk first, a second header, an empty message)
	// or the header is malformed.
	ErrProtocol = errors.New("exchange: custodian broke the transfer protocol")
	// ErrTooLarge: the announced size is above the client's limit.
	ErrTooLarge = errors.New("exchange: record larger than the limit")
)

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithDialTimeout bounds how long Fetch waits for the connection to the
// custodian to be ready; d must be positive.
func WithDialTimeout(d time.Duration) ClientOption {
	return func(c *Client) { c.dialTimeout = d }
}

// WithLogger sets the logger; the default discards. The Client logs
// organisations, transaction and record IDs and sizes, never salts or
// content.
func WithLogger(l *slog.Logger) ClientOption {
	return func(c *Client) { c.log = l }
}

// WithMaxRecordSize sets the largest record size Fetch accepts; n must be
// positive. The default is DefaultMaxRecordSize.
func WithMaxRecordSize(n int64) ClientOption {
	return func(c *Client) { c.maxSize = n }
}

// Client fetches records from other organisations' gateways for access
// tickets: the requester's side of flow 3. It is safe for concurrent use;
// each Fetch opens its own connection, authenticated by the requesting
// user's certificate.
type Client struct {
	dir         Directory
	dialTimeout time.Duration
	log         *slog.Logger
	maxSize     int64
}

// NewClient returns a Client that finds custodians' gateways in dir.
// Errors: a nil dir, a non-positive dial timeout or record size limit, or
// a nil logger.
func NewClient(dir Directory, opts ...ClientOption) (*Client, error) {
	c := &Client{dir: dir, dialTimeout: DefaultDialTimeout, log: slog.New(slog.DiscardHandler), maxSize: DefaultMaxRecordSize}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	switch {
	case dir == nil:
		return nil, errors.New("exchange: NewClient: dir is required")
	case c.dialTimeout <= 0:
		return nil, fmt.Errorf("exchange: NewClient: dial timeout %v: want a positive duration", c.dialTimeout)
	case c.maxSize <= 0:
		return nil, fmt.Errorf("exchange: NewClient: max record size %d: want a positive size", c.maxSize)
	case c.log == nil:
		return nil, errors.New("exchange: NewClient: logger must not be nil")
	}
	return c, nil
}

// Fetch asks custodianMSP's gateway for the record of access ticket
// accessTxID, presenting cert as mTLS client certificate. cert must be
// the requesting user's signing certificate and key, the identity that
// submitted RequestAccess: the custodian honours the ticket only for that
// certificate. Fetch looks the custodian up in the directory, connects
// with TLS 1.3 verifying the custodian against the directory's TLS CA
// and the address's host, and reads the header.
//
// ctx governs the whole transfer: cancelling it aborts reading. The
// caller must Close the Transfer.
//
// The header is the custodian's claim. Before accepting the copy, the
// caller checks the header's evidence against the ledger (the record and
// version of the access event) and reads the content through
// NewVerifyingReader with the ledger's commitment, the header's salt and
// size.
//
// Errors: a malformed custodianMSP or accessTxID
// (domain.ErrInvalidArgument) or a cert without certificate or key; the
// directory's errors (NotFound when the custodian has no entry) and
// ErrBadEndpoint; the connection's and the custodian's errors, wrapped so
// that status.Code and status.FromError still give their code
// (Unavailable when the custodian cannot be reached, does not present a
// certificate of the directory's CA, or does not answer within the dial
// timeout; NotFound, PermissionDenied, FailedPrecondition, ... from the
// custodian's check); ErrProtocol for a stream without a well-formed
// header first; ErrTooLarge.
func (c *Client) Fetch(ctx context.Context, cert tls.Certificate, custodianMSP, accessTxID string) (*Transfer, error) {
	if err := domain.CheckMSPID("custodianMSP", custodianMSP); err != nil {
		return nil, fmt.Errorf("exchange: fetch: %w", err)
	}
	if err := domain.CheckTxID("accessTxID", accessTxID); err != nil {
		return nil, fmt.Errorf("exchange: fetch: %w", err)
	}
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, errors.New("exchange: fetch: cert: want the requester's signing certificate and its key")
	}
	ep, err := c.dir(ctx, custodianMSP)
	if err != nil {
		return nil, fmt.Errorf("exchange: fetch: look up custodian %s: %w", custodianMSP, err)
	}
	if err := ep.checkFor(custodianMSP); err != nil {
		return nil, fmt.Errorf("exchange: fetch: directory entry of %s: %w", custodianMSP, err)
	}
	host, roots, _ := ep.parse() // checked by checkFor
	creds := credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      roots,
		ServerName:   host,
		Certificates: []tls.Certificate{cert},
	})
	conn, err := grpc.NewClient("dns:///"+ep.Address,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg)))
	if err != nil {
		return nil, fmt.Errorf("exchange: fetch: custodian %s at %s: %w", custodianMSP, ep.Address, err)
	}
	t := &Transfer{conn: conn, custodian: custodianMSP, txID: accessTxID, log: c.log}
	if err := c.connect(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("exchange: fetch: connect to custodian %s at %s: %w", custodianMSP, ep.Address, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	c.log.DebugContext(ctx, "exchange: fetching", "custodian", custodianMSP, "address", ep.Address, "accessTxId", accessTxID)
	t.stream, err = gatewayv1.NewExchangeServiceClient(conn).FetchForAccessTicket(sctx, &gatewayv1.FetchForAccessTicketRequest{AccessTxId: accessTxID})
	if err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("exchange: fetch from custodian %s: %w", custodianMSP, err)
	}
	first, err := t.stream.Recv()
	if err != nil {
		_ = t.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("exchange: fetch from custodian %s: %w: the stream ended without a header", custodianMSP, ErrProtocol)
		}
		return nil, fmt.Errorf("exchange: fetch from custodian %s: %w", custodianMSP, err)
	}
	if err := c.checkHeader(first, custodianMSP); err != nil {
		_ = t.Close()
		c.log.WarnContext(ctx, "exchange: bad header", "custodian", custodianMSP, "accessTxId", accessTxID, "err", err)
		return nil, fmt.Errorf("exchange: fetch from custodian %s: %w", custodianMSP, err)
	}
	t.header = first.GetHeader()
	c.log.DebugContext(ctx, "exchange: header received", "transfer", t)
	return t, nil
}

// connect waits until conn is ready, or has failed (the RPC then reports
// the cause), within the dial timeout.
func (c *Client) connect(ctx context.Context, conn *grpc.ClientConn) error {
	dctx, cancel := context.WithTimeout(ctx, c.dialTimeout)
	defer cancel()
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready || s == connectivity.TransientFailure {
			return nil
		}
		if !conn.WaitForStateChange(dctx, s) {
			if err := ctx.Err(); err != nil {
				return contextError{err}
			}
			return status.Errorf(codes.Unavailable, "no connection within %v", c.dialTimeout)
		}
	}
}

// checkHeader checks that m is a well-formed header of a record of
// custodian msp within the size limit.
func (c *Client) checkHeader(m *gatewayv1.FetchForAccessTicketResponse, msp string) error {
	h := m.GetHeader()
	switch {
	case h == nil:
		return fmt.Errorf("%w: the first message is not the header", ErrProtocol)
	case h.GetEvidence() == nil:
		return fmt.Errorf("%w: header.evidence is missing", ErrProtocol)
	case len(h.GetSalt()) != domain.SaltSize:
		return fmt.Errorf("%w: header.salt: %d bytes, want %d", ErrProtocol, len(h.GetSalt()), domain.SaltSize)
	case h.GetEvidence().GetCustodian() != msp:
		// The custodian's value is not echoed: it is another party's text.
		return fmt.Errorf("%w: header.evidence.custodian: want %q", ErrProtocol, msp)
	case h.GetSize() > uint64(c.maxSize):
		return fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, h.GetSize(), c.maxSize)
	}
	if err := domain.CheckHash32("header.evidence.commitment", h.GetEvidence().GetCommitment()); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return nil
}

// Transfer is one record coming from a custodian: the header, and the
// content as an io.ReadCloser over the chunks. Read returns io.EOF only
// after exactly the announced size; it fails with ErrSizeMismatch if the
// custodian sends more (at once) or less (at the end), with ErrProtocol on
// a second header, and with the stream's errors wrapped (status.Code
// works). Read must not be called concurrently with itself; Close may be
// called concurrently with Read, to abort it.
//
// The content is not verified here: read it through NewVerifyingReader.
type Transfer struct {
	header    *gatewayv1.TicketHeader
	stream    grpc.ServerStreamingClient[gatewayv1.FetchForAccessTicketResponse]
	conn      *grpc.ClientConn
	cancel    context.CancelFunc
	custodian string
	txID      string
	log       *slog.Logger

	buf      []byte
	received uint64
	err      error

	closeOnce sync.Once
	closeErr  error
}

// Header returns the header: the custodian's evidence of the record
// version, the salt of its commitment and the content size. The salt is a
// secret: do not log the header.
func (t *Transfer) Header() *gatewayv1.TicketHeader { return t.header }

// Read implements io.Reader over the content chunks.
func (t *Transfer) Read(p []byte) (int, error) {
	for len(t.buf) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		t.err = t.next()
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

// next receives the next message into buf, or returns the end of the
// transfer (io.EOF or an error).
func (t *Transfer) next() error {
	size := t.header.GetSize()
	m, err := t.stream.Recv()
	switch {
	case err == io.EOF:
		if t.received != size {
			return fmt.Errorf("exchange: transfer from %s: %w: %d bytes, announced %d", t.custodian, ErrSizeMismatch, t.received, size)
		}
		t.log.Debug("exchange: transfer complete", "transfer", t)
		return io.EOF
	case err != nil:
		return fmt.Errorf("exchange: transfer from %s: %w", t.custodian, err)
	case m.GetPart() == nil:
		return fmt.Errorf("exchange: transfer from %s: %w: empty message", t.custodian, ErrProtocol)
	case m.GetHeader() != nil:
		return fmt.Errorf("exchange: transfer from %s: %w: a second header", t.custodian, ErrProtocol)
	}
	chunk := m.GetChunk()
	if len(chunk) == 0 {
		// An empty chunk carries nothing; a stream of them would stall the
		// transfer without ever ending it.
		return fmt.Errorf("exchange: transfer from %s: %w: empty chunk", t.custodian, ErrProtocol)
	}
	if uint64(len(chunk)) > size-t.received {
		return fmt.Errorf("exchange: transfer from %s: %w: more than the announced %d bytes", t.custodian, ErrSizeMismatch, size)
	}
	t.received += uint64(len(chunk))
	t.buf = chunk
	return nil
}

// Close ends the stream and closes the connection. It is safe to call more
// than once.
func (t *Transfer) Close() error {
	t.closeOnce.Do(func() {
		if t.cancel != nil {
			t.cancel()
		}
		if err := t.conn.Close(); err != nil {
			t.closeErr = fmt.Errorf("exchange: close connection to %s: %w", t.custodian, err)
		}
	})
	return t.closeErr
}

// LogValue logs the custodian, the ticket, the record ID and version, the
// announced size and the bytes received so far; never the salt.
func (t *Transfer) LogValue() slog.Value {
	ev := t.header.GetEvidence()
	return slog.GroupValue(
		slog.String("custodian", t.custodian),
		slog.String("accessTxId", t.txID),
		slog.String("recordId", ev.GetRecordId()),
		slog.Uint64("version", uint64(ev.GetVersion())),
		slog.Uint64("size", t.header.GetSize()),
		slog.Uint64("received", t.received),
	)
}

// contextError is the caller's context ending: errors.Is matches the
// context's error, and status.Code gives Canceled or DeadlineExceeded.
type contextError struct{ err error }

func (e contextError) Error() string              { return e.err.Error() }
func (e contextError) Unwrap() error              { return e.err }
func (e contextError) GRPCStatus() *status.Status { return status.FromContextError(e.err) }
