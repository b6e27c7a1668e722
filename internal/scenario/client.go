package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// Calls through the gRPC API, as a client would make them. Each returns
// the call's error unchanged (a gRPC status) so that a scenario can assert
// on its code; errors of the scenario's own making (a protocol violation by
// the server) are plain errors, which no status check accepts.

// uploadChunk is the size of the content chunks the scenarios send: well
// inside the API's 4 MiB per message.
const uploadChunk = 1 << 20

// maxPages bounds every paging loop, so that a server that never ends a
// listing fails the scenario instead of hanging it.
const maxPages = 10_000

func (e *env) records(msp, user string) gatewayv1.RecordServiceClient {
	return gatewayv1.NewRecordServiceClient(e.conn(msp, user))
}

func (e *env) verification(msp, user string) gatewayv1.VerificationServiceClient {
	return gatewayv1.NewVerificationServiceClient(e.conn(msp, user))
}

func (e *env) consents(msp, user string) gatewayv1.ConsentServiceClient {
	return gatewayv1.NewConsentServiceClient(e.conn(msp, user))
}

func (e *env) access(msp, user string) gatewayv1.AccessServiceClient {
	return gatewayv1.NewAccessServiceClient(e.conn(msp, user))
}

func (e *env) auditing(msp, user string) gatewayv1.AuditServiceClient {
	return gatewayv1.NewAuditServiceClient(e.conn(msp, user))
}

func (e *env) patients(msp string) gatewayv1.PatientServiceClient {
	// A patient is not a Fabric member: the patient's own tool reaches the
	// gateway through a member's connection. The proof authenticates the
	// patient, and it is accepted only from the connection whose
	// certificate asked for the challenge.
	return gatewayv1.NewPatientServiceClient(e.conn(msp, UserClinician))
}

// chunks splits content into upload chunks.
func chunks(content []byte) [][]byte {
	var out [][]byte
	for len(content) > 0 {
		n := min(len(content), uploadChunk)
		out = append(out, content[:n])
		content = content[n:]
	}
	return out
}

// addRecord uploads a record with AddRecord: the metadata, then content in
// chunks.
func (e *env) addRecord(msp, user string, md *gatewayv1.RecordMetadata, content []byte) (*gatewayv1.AddRecordResponse, error) {
	stream, err := e.records(msp, user).AddRecord(e.ctx)
	if err != nil {
		return nil, err
	}
	msgs := []*gatewayv1.AddRecordRequest{{Part: &gatewayv1.AddRecordRequest_Metadata{Metadata: md}}}
	for _, c := range chunks(content) {
		msgs = append(msgs, &gatewayv1.AddRecordRequest{Part: &gatewayv1.AddRecordRequest_Chunk{Chunk: c}})
	}
	for _, m := range msgs {
		// io.EOF means the server has already ended the call: its status
		// comes with CloseAndRecv.
		if err := stream.Send(m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

// amendRecord uploads new content for a record with AmendRecord.
func (e *env) amendRecord(msp, user string, md *gatewayv1.AmendmentMetadata, content []byte) (*gatewayv1.AmendRecordResponse, error) {
	stream, err := e.records(msp, user).AmendRecord(e.ctx)
	if err != nil {
		return nil, err
	}
	msgs := []*gatewayv1.AmendRecordRequest{{Part: &gatewayv1.AmendRecordRequest_Metadata{Metadata: md}}}
	for _, c := range chunks(content) {
		msgs = append(msgs, &gatewayv1.AmendRecordRequest{Part: &gatewayv1.AmendRecordRequest_Chunk{Chunk: c}})
	}
	for _, m := range msgs {
		if err := stream.Send(m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

// getRecord downloads a record version with GetRecord: the header, then
// the content.
func (e *env) getRecord(msp, user string, req *gatewayv1.GetRecordRequest) (*gatewayv1.RecordHeader, []byte, error) {
	stream, err := e.records(msp, user).GetRecord(e.ctx, req)
	if err != nil {
		return nil, nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, nil, err
	}
	h := first.GetHeader()
	if h == nil {
		return nil, nil, errors.New("GetRecord: the first message is not a header")
	}
	var content bytes.Buffer
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return h, content.Bytes(), nil
		}
		if err != nil {
			return nil, nil, err
		}
		if m.GetHeader() != nil {
			return nil, nil, errors.New("GetRecord: a second header")
		}
		if len(m.GetChunk()) == 0 {
			return nil, nil, errors.New("GetRecord: an empty chunk")
		}
		content.Write(m.GetChunk())
	}
}

// read downloads the latest version of a record its custodian's user
// treats the patient for, with purpose TREAT.
func (e *env) read(msp, user, recordID string) (*gatewayv1.RecordHeader, []byte, error) {
	return e.getRecord(msp, user, &gatewayv1.GetRecordRequest{
		RecordId: recordID, Purpose: gatewayv1.PurposeOfUse_PURPOSE_OF_USE_TREAT, CareRelationship: true,
	})
}

// verifyDocument checks content against a receipt with VerifyDocument,
// streaming the content for the gateway to hash.
func (e *env) verifyDocument(msp, user string, rc *gatewayv1.Receipt, content []byte) (*gatewayv1.VerifyDocumentResponse, error) {
	stream, err := e.verification(msp, user).VerifyDocument(e.ctx)
	if err != nil {
		return nil, err
	}
	msgs := []*gatewayv1.VerifyDocumentRequest{{Part: &gatewayv1.VerifyDocumentRequest_Target{Target: &gatewayv1.VerifyTarget{Receipt: rc}}}}
	for _, c := range chunks(content) {
		msgs = append(msgs, &gatewayv1.VerifyDocumentRequest{Part: &gatewayv1.VerifyDocumentRequest_Chunk{Chunk: c}})
	}
	for _, m := range msgs {
		if err := stream.Send(m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

// history lists every version of a record with RecordHistory, all pages.
func (e *env) history(msp, user, recordID string) ([]*gatewayv1.RecordEvidence, error) {
	var out []*gatewayv1.RecordEvidence
	err := pages(func(token string) (string, error) {
		resp, err := e.records(msp, user).RecordHistory(e.ctx, &gatewayv1.RecordHistoryRequest{RecordId: recordID, PageToken: token})
		if err != nil {
			return "", err
		}
		out = append(out, resp.GetVersions()...)
		return resp.GetNextPageToken(), nil
	})
	return out, err
}

// trail lists the access events a filter selects with AccessTrail, all
// pages.
func (e *env) trail(msp, user string, f *gatewayv1.TrailFilter) ([]*gatewayv1.AccessEvent, error) {
	var out []*gatewayv1.AccessEvent
	err := pages(func(token string) (string, error) {
		resp, err := e.auditing(msp, user).AccessTrail(e.ctx, &gatewayv1.AccessTrailRequest{Filter: f, PageToken: token})
		if err != nil {
			return "", err
		}
		out = append(out, resp.GetEvents()...)
		return resp.GetNextPageToken(), nil
	})
	return out, err
}

// alerts lists the alerting access events of the default window (the last
// 30 days) with Alerts, all pages.
func (e *env) alerts(msp, user string) ([]*gatewayv1.AccessEvent, error) {
	var out []*gatewayv1.AccessEvent
	err := pages(func(token string) (string, error) {
		resp, err := e.auditing(msp, user).Alerts(e.ctx, &gatewayv1.AlertsRequest{PageToken: token})
		if err != nil {
			return "", err
		}
		out = append(out, resp.GetEvents()...)
		return resp.GetNextPageToken(), nil
	})
	return out, err
}

// export downloads a whole trail export with ExportTrail.
func (e *env) export(msp, user string, f *gatewayv1.TrailFilter, format gatewayv1.ExportFormat) ([]byte, error) {
	stream, err := e.auditing(msp, user).ExportTrail(e.ctx, &gatewayv1.ExportTrailRequest{Filter: f, Format: format})
	if err != nil {
		return nil, err
	}
	var file bytes.Buffer
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return file.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		file.Write(m.GetChunk())
	}
}

// myRecords lists a patient's records at msp with ListMyRecords, all pages.
func (e *env) myRecords(msp string, proof *gatewayv1.PatientProof) ([]*gatewayv1.RecordEvidence, error) {
	var out []*gatewayv1.RecordEvidence
	err := pages(func(token string) (string, error) {
		resp, err := e.patients(msp).ListMyRecords(e.ctx, &gatewayv1.ListMyRecordsRequest{Proof: proof, PageToken: token})
		if err != nil {
			return "", err
		}
		out = append(out, resp.GetRecords()...)
		return resp.GetNextPageToken(), nil
	})
	return out, err
}

// myAccessEvents lists the access events about a patient's records at msp
// with ListMyAccessEvents, all pages of the whole history.
func (e *env) myAccessEvents(msp string, proof *gatewayv1.PatientProof) ([]*gatewayv1.AccessEvent, error) {
	var out []*gatewayv1.AccessEvent
	err := pages(func(token string) (string, error) {
		resp, err := e.patients(msp).ListMyAccessEvents(e.ctx, &gatewayv1.ListMyAccessEventsRequest{Proof: proof, PageToken: token})
		if err != nil {
			return "", err
		}
		out = append(out, resp.GetEvents()...)
		return resp.GetNextPageToken(), nil
	})
	return out, err
}

// pages calls page with each next-page token, starting with the empty
// one, until a page returns none. A token seen twice is an error.
func pages(page func(token string) (string, error)) error {
	seen := map[string]bool{}
	token := ""
	for range maxPages {
		next, err := page(token)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		if seen[next] {
			return errors.New("listing: the server returned the same page token twice")
		}
		seen[next] = true
		token = next
	}
	return fmt.Errorf("listing: more than %d pages", maxPages)
}

// window is a trail filter's time window, in whole seconds.
func window(start, end int64) (*timestamppb.Timestamp, *timestamppb.Timestamp) {
	return &timestamppb.Timestamp{Seconds: start}, &timestamppb.Timestamp{Seconds: end}
}
