// Package api_test checks the gateway API definitions in proto/ against the
// conventions of the project and against the generated code in gen/.
//
// The generated Go code does not keep source info (protoc-gen-go strips
// comments from the embedded descriptors), so the tests compile the .proto
// files themselves with protocompile, in pure Go: `go test` needs no buf or
// protoc binary.
package api_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/medprov/medprov/api/gen/medprov/gateway/v1" // registers the generated descriptors
)

const protoRoot = "proto"

// compile parses and links every .proto file under proto/, with comments.
func compile(t *testing.T) []protoreflect.FileDescriptor {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(protoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, err := filepath.Rel(protoRoot, path)
			if err != nil {
				return err
			}
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list .proto files: %v", err)
	}
	if len(paths) == 0 {
		t.Fatalf("no .proto files under %s", protoRoot)
	}
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			ImportPaths: []string{protoRoot},
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	files, err := compiler.Compile(context.Background(), paths...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out := make([]protoreflect.FileDescriptor, len(files))
	for i, f := range files {
		out[i] = f
	}
	return out
}

// TestEveryElementHasALeadingComment checks that every service, RPC,
// message, field, oneof, enum and enum value has a leading comment.
func TestEveryElementHasALeadingComment(t *testing.T) {
	for _, file := range compile(t) {
		locs := file.SourceLocations()
		check := func(d protoreflect.Descriptor) {
			if strings.TrimSpace(locs.ByDescriptor(d).LeadingComments) == "" {
				t.Errorf("%s: %s has no leading comment", file.Path(), d.FullName())
			}
		}
		var enums func(protoreflect.EnumDescriptors)
		enums = func(es protoreflect.EnumDescriptors) {
			for i := range es.Len() {
				e := es.Get(i)
				check(e)
				for j := range e.Values().Len() {
					check(e.Values().Get(j))
				}
			}
		}
		var messages func(protoreflect.MessageDescriptors)
		messages = func(ms protoreflect.MessageDescriptors) {
			for i := range ms.Len() {
				m := ms.Get(i)
				check(m)
				for j := range m.Fields().Len() {
					check(m.Fields().Get(j))
				}
				for j := range m.Oneofs().Len() {
					check(m.Oneofs().Get(j))
				}
				enums(m.Enums())
				messages(m.Messages())
			}
		}
		for i := range file.Services().Len() {
			s := file.Services().Get(i)
			check(s)
			for j := range s.Methods().Len() {
				check(s.Methods().Get(j))
			}
		}
		messages(file.Messages())
		enums(file.Enums())
	}
}

// TestOneRequestResponsePairPerRPC checks that each RPC has its own
// <Method>Request and <Method>Response, used by no other RPC.
func TestOneRequestResponsePairPerRPC(t *testing.T) {
	used := map[protoreflect.FullName]protoreflect.FullName{}
	for _, file := range compile(t) {
		for i := range file.Services().Len() {
			s := file.Services().Get(i)
			for j := range s.Methods().Len() {
				m := s.Methods().Get(j)
				for _, pair := range []struct {
					msg    protoreflect.MessageDescriptor
					suffix string
				}{{m.Input(), "Request"}, {m.Output(), "Response"}} {
					if want := string(m.Name()) + pair.suffix; string(pair.msg.Name()) != want {
						t.Errorf("%s uses %s, want %s", m.FullName(), pair.msg.Name(), want)
					}
					if other, ok := used[pair.msg.FullName()]; ok {
						t.Errorf("%s is used by %s and %s", pair.msg.FullName(), other, m.FullName())
					}
					used[pair.msg.FullName()] = m.FullName()
				}
			}
		}
	}
}

// TestNoFreeTextFields guards against fields that invite health data: the
// API carries codes, IDs and hashes, never a person's prose. A string field
// whose name suggests free text fails.
func TestNoFreeTextFields(t *testing.T) {
	suspicious := []string{"reason", "justification", "note", "comment", "description", "text", "message", "name", "diagnosis", "summary"}
	allowed := map[protoreflect.FullName]bool{
		// SHA-256 of the off-chain justification, as on the ledger.
		"medprov.gateway.v1.AccessBasis.justification_hash":          true,
		"medprov.gateway.v1.RequestAccessRequest.justification_hash": true,
	}
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			m := ms.Get(i)
			for j := range m.Fields().Len() {
				f := m.Fields().Get(j)
				if f.Kind() != protoreflect.StringKind || allowed[f.FullName()] {
					continue
				}
				for _, word := range suspicious {
					if strings.Contains(string(f.Name()), word) {
						t.Errorf("%s is a string named like free text (%q); use a code or a hash", f.FullName(), word)
					}
				}
			}
			messages(m.Messages())
		}
	}
	for _, file := range compile(t) {
		messages(file.Messages())
	}
}

// TestGeneratedCodeMatchesProtoFiles checks that the descriptors embedded in
// gen/ equal those compiled from proto/ (comments aside). `make verify`
// compares the generated files byte for byte; this catches the common case
// in plain `go test`.
func TestGeneratedCodeMatchesProtoFiles(t *testing.T) {
	for _, file := range compile(t) {
		gen, err := protoregistry.GlobalFiles.FindFileByPath(file.Path())
		if err != nil {
			t.Errorf("%s: not in the generated code (run make proto): %v", file.Path(), err)
			continue
		}
		want := protodesc.ToFileDescriptorProto(file)
		want.SourceCodeInfo = nil
		got := protodesc.ToFileDescriptorProto(gen)
		got.SourceCodeInfo = nil
		if !proto.Equal(got, want) {
			t.Errorf("%s: generated descriptor differs from the .proto file; run make proto", file.Path())
		}
	}
}
