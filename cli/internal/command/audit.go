package command

import (
	"github.com/spf13/cobra"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/chaincode/ledger"
)

func newAuditCommand(deps Deps, g *globals) *cobra.Command {
	return newGroupCommand("audit", "Read and export the access trail on the ledger",
		`  medprov audit trail --record r-5f2a...
  medprov audit trail --org HospitalBMSP --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z
  medprov audit alerts --from 2026-03-01T00:00:00Z
  medprov audit export --format fhir --patient pt-0123... --out trail.fhir.json`,
		newAuditTrailCommand(deps, g),
		newAuditAlertsCommand(deps, g),
		newAuditExportCommand(deps, g),
	)
}

// trailFlags select access events, as TrailFilter does.
type trailFlags struct {
	record, patient, org string
	from, to             string
}

func (f *trailFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.record, "record", "", "only events about this record ID")
	fl.StringVar(&f.patient, "patient", "", "only events about this patient pseudonym")
	fl.StringVar(&f.org, "org", "", "only events requested by this MSP ID")
	fl.StringVar(&f.from, "from", "", "start of the window, inclusive (RFC 3339, whole seconds)")
	fl.StringVar(&f.to, "to", "", "end of the window, exclusive (RFC 3339, whole seconds)")
	for _, n := range []string{"record", "patient", "org", "from", "to"} {
		_ = c.RegisterFlagCompletionFunc(n, cobra.NoFileCompletions)
	}
}

// filter checks the flags and returns the filter: at most one of --record,
// --patient and --org, and a window with --to after --from.
func (f *trailFlags) filter() (*gatewayv1.TrailFilter, error) {
	var set []string
	for _, x := range []struct{ flag, v string }{{"--record", f.record}, {"--patient", f.patient}, {"--org", f.org}} {
		if x.v != "" {
			set = append(set, x.flag)
		}
	}
	if len(set) > 1 {
		return nil, usagef(set[1], "give at most one of --record, --patient and --org")
	}
	if f.record != "" {
		if err := checkArg("--record", ledger.CheckID, f.record); err != nil {
			return nil, err
		}
	}
	if f.patient != "" {
		if err := checkArg("--patient", ledger.CheckPseudonym, f.patient); err != nil {
			return nil, err
		}
	}
	if f.org != "" {
		if err := checkArg("--org", ledger.CheckMSPID, f.org); err != nil {
			return nil, err
		}
	}
	from, to, err := window(f.from, f.to)
	if err != nil {
		return nil, err
	}
	return &gatewayv1.TrailFilter{RecordId: f.record, Patient: f.patient, RequesterMspId: f.org, StartTime: from, EndTime: to}, nil
}

const trailWindowHelp = `--from (inclusive) and --to (exclusive) are RFC 3339 times in whole
seconds, such as 2026-01-02T15:04:05Z. Without --to the window ends now;
without --from it starts at the beginning with a filter, else 30 days
before its end. A window longer than 366 days needs a filter.`
