# The two commands a newcomer needs (see README.md):
#   make demo   local Prosody, ngIRCd, Kannel, Dovecot, Postfix + Ferry (IRC, SMS, email, echo) on loopback
#   make test   install the servers the tests use, then run every check
#
# Packaging:
#   make build  static ./ferry stamped with release, commit and build date (ferry version)
#   make deb    dist/ferry_VERSION_ARCH.deb: binary, systemd unit, sysusers/tmpfiles, example config, man page
#   make check-packaging  verify the unit, the .deb and the container recipe (CI installs the .deb too)

.PHONY: demo test build deb check-packaging fuzz bench

# The release is the newest v* tag when there is one; between releases it
# is the next one marked ~dev, which sorts before it for dpkg.
RELEASE ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//')
ifeq ($(RELEASE),)
RELEASE := 0.1.0~dev
endif
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
# The commit's time, not the clock: the same commit builds the same binary.
BUILD_DATE ?= $(shell date -u -d "@$$(git log -1 --format=%ct 2>/dev/null || date +%s)" +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.release=$(RELEASE) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)
GOARCH ?= $(shell go env GOARCH)
# nfpm, a Go packager, run from the module proxy at a pinned version.
NFPM_VERSION := v2.48.0
# packaging/nfpm.yaml takes the files it packs from dist/build.
DIST := dist

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o ferry ./cmd/ferry

deb:
	rm -rf $(DIST) && mkdir -p $(DIST)/build
	CGO_ENABLED=0 GOARCH=$(GOARCH) go build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/build/ferry ./cmd/ferry
	gzip -9n < docs/ferry.1 > $(DIST)/build/ferry.1.gz
	FERRY_ARCH=$(GOARCH) FERRY_DEB_VERSION='$(RELEASE)+git$(subst -,,$(firstword $(subst T, ,$(BUILD_DATE)))).$(COMMIT)' \
		go run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION) package \
		--config packaging/nfpm.yaml --packager deb --target $(DIST)/
	@ls $(DIST)/*.deb

check-packaging:
	./scripts/check-packaging.sh

# The load tool (README, "Measuring"): every scenario at the issue's sizes,
# on Ferry and on biboumi. BENCH_FLAGS picks scenarios and sizes, e.g.
#   make bench BENCH_FLAGS="-scenario burst,pm -biboumi=false"
bench:
	./scripts/install-deps.sh prosody ngircd biboumi
	go run ./cmd/ferry-load $(BENCH_FLAGS)

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
	go test -run=NONE -fuzz=FuzzCAPRegistration -fuzztime=30s ./bridges/irc/ircconn/
	go test -run=NONE -fuzz=FuzzTags -fuzztime=30s ./bridges/irc/
	go test -run=NONE -fuzz=FuzzSpecial -fuzztime=30s ./internal/netguard/
	go test -run=NONE -fuzz=FuzzParseBody -fuzztime=30s ./cmd/ferry-load/
