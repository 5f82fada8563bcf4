# The two commands a newcomer needs (see README.md):
#   make demo   local Prosody, ngIRCd, Kannel, Dovecot, Postfix + Ferry (IRC, SMS, email, echo) on loopback
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
	go test -run=NONE -fuzz=FuzzAppendXML -fuzztime=30s ./internal/xmlnode/
	go test -run=NONE -fuzz=FuzzDecodeLimits -fuzztime=30s ./internal/xmlnode/
	go test -run=NONE -fuzz=FuzzOpen -fuzztime=30s ./registry/
	go test -run=NONE -fuzz=FuzzParse -fuzztime=30s ./config/
	go test -run=NONE -fuzz=FuzzParse -fuzztime=30s ./bridges/email/mailparse/
	go test -run=NONE -fuzz=FuzzBuild -fuzztime=30s ./bridges/email/compose/
	go test -run=NONE -fuzz=FuzzSession -fuzztime=30s ./bridges/email/relay/
	go test -run=NONE -fuzz=FuzzLocalPart -fuzztime=30s ./bridges/email/mailaddr/
	go test -run=NONE -fuzz=FuzzAddress -fuzztime=30s ./bridges/email/mailaddr/
	go test -run=NONE -fuzz=FuzzCheck -fuzztime=30s ./bridges/irc/ircident/
	go test -run=NONE -fuzz=FuzzSpecial -fuzztime=30s ./internal/netguard/
