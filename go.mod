module github.com/medprov/medprov

go 1.25.0

replace github.com/medprov/medprov/chaincode => ./chaincode

require (
	github.com/hyperledger/fabric-chaincode-go/v2 v2.3.1-0.20260319210430-56968fdc7833
	github.com/hyperledger/fabric-protos-go-apiv2 v0.3.7
	github.com/medprov/medprov/chaincode v0.0.0-00010101000000-000000000000
	go.etcd.io/bbolt v1.4.3
)

require (
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260414002931-afd174a4e478 // indirect
	google.golang.org/grpc v1.82.1 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
