# The two commands a newcomer needs (see README.md):
#   make demo   local Prosody, ngIRCd, Kannel + Ferry (IRC, SMS, echo) on loopback
#   make test   install the servers the tests use, then run every check

.PHONY: demo test build fuzz

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

build:
	CGO_ENABLED=0 go build -o ferry ./cmd/ferry

# Short fuzzing pass over the parsers and escapers (seed corpora live in testdata/fuzz).
fuzz:
	go test -run=NONE -fuzz=FuzzParse -fuzztime=30s ./internal/xmlnode/
	go test -run=NONE -fuzz=FuzzOpen -fuzztime=30s ./registry/
	go test -run=NONE -fuzz=FuzzParse -fuzztime=30s ./config/
