#!/usr/bin/env bash
# Installs what the tests need (real servers from Debian, staticcheck) and
# runs every check. In CI (CI=true) end-to-end tests fail, not skip, when a
# server is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"

./scripts/install-deps.sh

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
staticcheck ./...
echo "== static build"
CGO_ENABLED=0 go build -o /dev/null ./cmd/ferry
go build -tags demo -o /dev/null ./cmd/ferry
echo "== packaging (unit, .deb, container recipe)"
./scripts/check-packaging.sh
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
