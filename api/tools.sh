#!/usr/bin/env bash
# tools.sh installs the pinned code-generation tools of the gateway API into
# a project-local directory and runs them. The Makefile calls it:
#
#   api/tools.sh install    install any missing or differently pinned tool
#   api/tools.sh generate   install, format the .proto files, lint, regenerate
#                           api/gen and api/openapi
#   api/tools.sh verify     install, check format and lint, regenerate into a
#                           temporary directory and fail if api/gen or
#                           api/openapi differ from it
#
# Versions: BUF_VERSION and PROTOC_GEN_GO_GRPC_VERSION come from the
# environment (the Makefile pins them). protoc-gen-go and the grpc-gateway
# plugins take the versions of google.golang.org/protobuf and
# github.com/grpc-ecosystem/grpc-gateway/v2 in go.mod, so the generated code
# always matches the libraries it imports.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
api="$root/api"
GO=${GO:-go}
TOOLS=${TOOLS:-$root/.tools}
bin="$TOOLS/bin"
: "${BUF_VERSION:?BUF_VERSION is not set (run through make)}"
: "${PROTOC_GEN_GO_GRPC_VERSION:?PROTOC_GEN_GO_GRPC_VERSION is not set (run through make)}"

module_version() { (cd "$root" && "$GO" list -m -f '{{.Version}}' "$1"); }

# install NAME PACKAGE@VERSION: go install into $bin unless the recorded
# version of NAME is already PACKAGE@VERSION.
install_tool() {
	local name=$1 want=$2 stamp="$TOOLS/versions/$1"
	if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		return
	fi
	echo "installing $want" >&2
	mkdir -p "$bin" "$TOOLS/versions"
	# Outside the main module, so that only the tool's own go.mod counts.
	(cd "$TOOLS" && GOBIN="$bin" GOFLAGS= "$GO" install "$want")
	echo "$want" >"$stamp"
}

install() {
	local pb gw
	pb=$(module_version google.golang.org/protobuf)
	gw=$(module_version github.com/grpc-ecosystem/grpc-gateway/v2)
	install_tool buf "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
	install_tool protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$pb"
	install_tool protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
	install_tool protoc-gen-grpc-gateway "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$gw"
	install_tool protoc-gen-openapiv2 "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$gw"
}

# buf ARGS...: run the pinned buf in api/ with only the pinned plugins ahead
# of the rest of PATH.
buf() { (cd "$api" && PATH="$bin:$PATH" "$bin/buf" "$@"); }

generate() {
	install
	buf format --write
	buf lint
	buf generate
	echo "regenerated api/gen and api/openapi" >&2
}

verify() {
	install
	buf format --diff --exit-code
	buf lint
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	buf generate --output "$tmp"
	local stale=0 dir
	for dir in gen openapi; do
		if ! diff -r "$api/$dir" "$tmp/$dir" >&2; then
			stale=1
		fi
	done
	if ((stale)); then
		echo "api/: generated code is stale; run 'make proto' and commit the result" >&2
		exit 1
	fi
	echo "api/: lint clean, generated code up to date" >&2
}

case "${1:-}" in
install | generate | verify) "$1" ;;
*)
	echo "usage: $0 install|generate|verify" >&2
	exit 2
	;;
esac
