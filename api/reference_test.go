package api_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

var update = flag.Bool("update", false, "rewrite ../docs/api.md from the .proto files")

const referencePath = "../docs/api.md"

// TestAPIReferenceIsCurrent renders the API reference (docs/api.md) from
// the comments of the .proto files and the REST routes of gateway.yaml, and
// fails when the committed file differs: the reference cannot drift from
// the API. Run `go test ./api -run APIReference -update` after changing a
// .proto file or gateway.yaml.
func TestAPIReferenceIsCurrent(t *testing.T) {
	got := renderReference(t)
	if *update {
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("read %s: %v (run go test ./api -run APIReference -update)", referencePath, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./api -run APIReference -update", referencePath)
	}
}

// routes reads gateway.yaml: RPC full name → "VERB /path".
func routes(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		HTTP struct {
			Rules []map[string]string `yaml:"rules"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range doc.HTTP.Rules {
		for _, verb := range []string{"get", "post", "put", "patch", "delete"} {
			if p, ok := r[verb]; ok {
				out[r["selector"]] = strings.ToUpper(verb) + " " + p
			}
		}
	}
	return out
}

func comment(d protoreflect.Descriptor) string {
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	lines := strings.Split(strings.TrimSpace(loc.LeadingComments), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func typeName(f protoreflect.FieldDescriptor) string {
	var n string
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		n = string(f.Message().FullName())
		n = strings.TrimPrefix(n, "medprov.gateway.v1.")
		if !strings.Contains(n, ".") {
			n = "[" + n + "](#" + strings.ToLower(n) + ")"
		}
	case protoreflect.EnumKind:
		n = strings.TrimPrefix(string(f.Enum().FullName()), "medprov.gateway.v1.")
		n = "[" + n + "](#" + strings.ToLower(n) + ")"
	default:
		n = f.Kind().String()
	}
	if f.Cardinality() == protoreflect.Repeated {
		n = "repeated " + n
	}
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		n += " (oneof " + string(o.Name()) + ")"
	}
	return n
}

func renderReference(t *testing.T) []byte {
	files := compile(t)
	sort.Slice(files, func(i, j int) bool { return files[i].Path() < files[j].Path() })
	rest := routes(t)
	var b strings.Builder
	b.WriteString("# Gateway API reference\n\n")
	b.WriteString("<!-- Generated from api/proto and api/gateway.yaml by `go test ./api -run APIReference -update`; do not edit. -->\n\n")
	b.WriteString("Package `medprov.gateway.v1`. Every call is made over mTLS: the client\n")
	b.WriteString("certificate identifies the caller (see docs/architecture.md). gRPC on\n")
	b.WriteString("`listen.grpc`; the same calls as REST/JSON on `listen.rest` (routes below;\n")
	b.WriteString("the OpenAPI document is served at `/openapi.json` and committed as\n")
	b.WriteString("`api/openapi/gateway.swagger.json`). Errors are gRPC status codes; each\n")
	b.WriteString("RPC lists the ones it returns.\n\n")

	var msgs []protoreflect.MessageDescriptor
	var enums []protoreflect.EnumDescriptor
	for _, f := range files {
		for i := range f.Messages().Len() {
			msgs = append(msgs, f.Messages().Get(i))
		}
		for i := range f.Enums().Len() {
			enums = append(enums, f.Enums().Get(i))
		}
	}
	b.WriteString("## Services\n\n")
	for _, f := range files {
		for i := range f.Services().Len() {
			s := f.Services().Get(i)
			fmt.Fprintf(&b, "### %s\n\n%s\n\n", s.Name(), comment(s))
			for j := range s.Methods().Len() {
				m := s.Methods().Get(j)
				in, out := string(m.Input().Name()), string(m.Output().Name())
				if m.IsStreamingClient() {
					in = "stream " + in
				}
				if m.IsStreamingServer() {
					out = "stream " + out
				}
				fmt.Fprintf(&b, "#### %s.%s\n\n", s.Name(), m.Name())
				fmt.Fprintf(&b, "`rpc %s(%s) returns (%s)`", m.Name(), in, out)
				if r, ok := rest[string(m.FullName())]; ok {
					fmt.Fprintf(&b, " · REST `%s`", r)
				}
				fmt.Fprintf(&b, "\n\n%s\n\n", comment(m))
			}
		}
	}
	b.WriteString("## Messages\n\n")
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].Name() < msgs[j].Name() })
	for _, m := range msgs {
		fmt.Fprintf(&b, "### %s\n\n%s\n\n", m.Name(), comment(m))
		if m.Fields().Len() == 0 {
			b.WriteString("No fields.\n\n")
			continue
		}
		b.WriteString("| field | type | meaning |\n| --- | --- | --- |\n")
		for i := range m.Fields().Len() {
			f := m.Fields().Get(i)
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name(), typeName(f), cell(comment(f)))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Enums\n\n")
	sort.Slice(enums, func(i, j int) bool { return enums[i].Name() < enums[j].Name() })
	for _, e := range enums {
		fmt.Fprintf(&b, "### %s\n\n%s\n\n| value | meaning |\n| --- | --- |\n", e.Name(), comment(e))
		for i := range e.Values().Len() {
			v := e.Values().Get(i)
			fmt.Fprintf(&b, "| `%s` | %s |\n", v.Name(), cell(comment(v)))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}
