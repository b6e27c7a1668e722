package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// ContentSize is the size of the synthetic content of each record the
// workloads anchor.
const ContentSize = 1 << 10

// benchDocType is the document type of the synthetic records: LOINC
// 18842-5, discharge summary.
const benchDocType = "18842-5"

// Anchor is the anchor workload: each call uploads a new record of 1 KiB
// of random content, distinct per call, with RecordService.AddRecord, which
// the gateway answers once AnchorRecord committed. Records belong to one
// synthetic patient registered at setup; AnchorRecord writes only keys of
// its own record, so calls do not conflict.
type Anchor struct {
	gws     []Gateway
	patient string
	run     string
	seed    [32]byte
	seq     atomic.Uint64
}

// NewAnchor sets the anchor workload up on gws, connections to one gateway
// as one user (a clinician or records officer): it registers a synthetic
// patient with a key generated from random, which also seeds the content.
// Errors wrap ErrSetup: no gateway, randomness, or RegisterPatient's error.
func NewAnchor(ctx context.Context, gws []Gateway, random io.Reader) (*Anchor, error) {
	if len(gws) == 0 {
		return nil, fmt.Errorf("%w: no gateway connection", ErrSetup)
	}
	a := &Anchor{gws: gws}
	var err error
	if a.run, err = runID(random); err != nil {
		return nil, err
	}
	if a.seed, err = seed(random); err != nil {
		return nil, err
	}
	p, err := registerPatient(ctx, gws[0], random)
	if err != nil {
		return nil, err
	}
	a.patient = p.pseudonym
	return a, nil
}

// Call anchors one record through the worker's connection. Errors: the
// gateway's status, or an answer that does not describe the record sent.
func (a *Anchor) Call(ctx context.Context, worker int) error {
	n := a.seq.Add(1)
	b := make([]byte, ContentSize)
	content(b, a.seed, n)
	_, err := addRecord(ctx, pick(a.gws, worker), fmt.Sprintf("bench-%s-%d", a.run, n), a.patient, b)
	return err
}

// errBadAnswer labels a gateway answer that does not match the call.
const errBadAnswer = "BAD_ANSWER"

// addRecord uploads content as version 1 of a new record of patient and
// returns the anchoring transaction's ID.
func addRecord(ctx context.Context, gw Gateway, recordID, patient string, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	stream, err := gw.Records.AddRecord(ctx)
	if err != nil {
		return "", err
	}
	md := &gatewayv1.RecordMetadata{RecordId: recordID, Patient: patient, DocType: benchDocType,
		Confidentiality: gatewayv1.Confidentiality_CONFIDENTIALITY_N, ContentSha256: sum[:]}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: md}}); err != nil {
		return "", sendError(stream, err)
	}
	if err := stream.Send(&gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: content}}); err != nil {
		return "", sendError(stream, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return "", err
	}
	ev := resp.GetEvidence()
	if ev.GetRecordId() != recordID || ev.GetVersion() != 1 || ev.GetTxId() == "" || resp.GetSize() != uint64(len(content)) {
		return "", WithLabel(errBadAnswer, fmt.Errorf("AddRecord %s: the answer is not version 1 of the record sent", recordID))
	}
	return ev.GetTxId(), nil
}

// sendError returns the stream's status when a send failed because the
// server ended the call (gRPC then reports io.EOF on Send).
func sendError(stream interface {
	CloseAndRecv() (*gatewayv1.AddRecordResponse, error)
}, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	if _, rerr := stream.CloseAndRecv(); rerr != nil {
		return rerr
	}
	return err
}
