package ledger

// The names of the chaincode's events: every write transaction emits
// exactly one, whose payload carries identifiers only, never content
// (docs/chaincode-api.md, "Events"). The gateway's event follower reads
// them by these names.
const (
	EventRecordAnchored    = "RecordAnchored"
	EventRecordAmended     = "RecordAmended"
	EventRecordErased      = "RecordErased"
	EventPatientRegistered = "PatientRegistered"
	EventPatientKeyRotated = "PatientKeyRotated"
	EventConsentGranted    = "ConsentGranted"
	EventConsentRevoked    = "ConsentRevoked"
	EventAccessDecided     = "AccessDecided"
	EventAccessLogged      = "AccessLogged"
	EventOrgEndpointSet    = "OrgEndpointSet"
	EventBaselinePut       = "BaselinePut"
)
