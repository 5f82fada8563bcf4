package mailparse

import (
	"bytes"
	"strings"
)

// field is one header field: its lower-cased name and its unfolded value,
// still RFC 2047 encoded.
type field struct{ name, value string }

// header is a header block in the order it was written.
type header []field

// get returns the first value of the field called name (lower case), or "".
// The first one wins because trace fields such as Return-Path are prepended
// by the last hop, which is the one to trust.
func (h header) get(name string) string {
	for _, f := range h {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// has reports whether the field called name (lower case) is present.
func (h header) has(name string) bool {
	for _, f := range h {
		if f.name == name {
			return true
		}
	}
	return false
}

// values returns every value of the field called name (lower case).
func (h header) values(name string) []string {
	var vs []string
	for _, f := range h {
		if f.name == name {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// headerLimits bounds what readHeader keeps, so that a hostile header cannot
// make us hold many times the size of the message.
type headerLimits struct {
	bytes  int // total bytes of names and values kept
	fields int // number of fields kept
}

var (
	topLimits  = headerLimits{bytes: 1 << 20, fields: 2000}
	partLimits = headerLimits{bytes: 64 << 10, fields: 200}
)

// headerReader accumulates fields; folded lines are gathered in a byte
// buffer so that many continuation lines cost linear, not quadratic, time.
type headerReader struct {
	lim     headerLimits
	h       header
	kept    int
	name    string
	val     []byte
	open    bool // a field is being gathered
	discard bool // the current field is over the limits and is not kept
}

func (r *headerReader) flush() {
	if r.open && !r.discard {
		r.h = append(r.h, field{r.name, string(r.val)})
	}
	r.open, r.discard, r.val = false, false, r.val[:0]
}

func (r *headerReader) start(name, value []byte) {
	r.flush()
	r.open = true
	r.discard = len(r.h) >= r.lim.fields || r.kept+len(name)+len(value) > r.lim.bytes
	if r.discard {
		return
	}
	r.kept += len(name) + len(value)
	r.name = strings.ToLower(string(name))
	r.val = append(r.val, value...)
}

func (r *headerReader) continued(line []byte) {
	line = trimWSP(line)
	if !r.open || r.discard || len(line) == 0 {
		return
	}
	if r.kept+1+len(line) > r.lim.bytes {
		return // keep what we have of this field, drop the rest
	}
	r.kept += 1 + len(line)
	if len(r.val) > 0 {
		r.val = append(r.val, ' ')
	}
	r.val = append(r.val, line...)
}

// readHeader parses the header block at the start of b and returns its
// fields and the offset where the body starts. The block ends at the first
// empty line, or at the first line that is neither a field nor a
// continuation: such a line is taken as the start of a body whose blank
// separator line is missing, rather than dropped.
func readHeader(b []byte, lim headerLimits) (header, int) {
	r := headerReader{lim: lim}
	pos := 0
	for pos < len(b) {
		line, next := nextLine(b, pos)
		switch {
		case len(line) == 0:
			r.flush()
			return r.h, next
		case line[0] == ' ' || line[0] == '\t':
			if !r.open {
				// White space with nothing to continue: the header is
				// over (a part with no fields, or a broken separator).
				if len(trimWSP(line)) == 0 {
					return r.h, next
				}
				r.flush()
				return r.h, pos
			}
			r.continued(line)
		default:
			name, value, ok := splitField(line)
			if !ok {
				r.flush()
				return r.h, pos
			}
			r.start(name, value)
		}
		pos = next
	}
	r.flush()
	return r.h, len(b)
}

// nextLine returns the line starting at pos without its line ending, and
// the offset of the line after it.
func nextLine(b []byte, pos int) (line []byte, next int) {
	end := bytes.IndexByte(b[pos:], '\n')
	if end < 0 {
		line, next = b[pos:], len(b)
	} else {
		line, next = b[pos:pos+end], pos+end+1
	}
	return bytes.TrimSuffix(line, []byte{'\r'}), next
}

// splitField splits "Name: value". The name must be printable ASCII without
// colon or space (white space before the colon is tolerated, as seen in the
// wild).
func splitField(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	name = bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return nil, nil, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return nil, nil, false
		}
	}
	return name, trimWSP(line[i+1:]), true
}

func trimWSP(b []byte) []byte { return bytes.Trim(b, " \t") }

// skipMboxLine skips the "From sender date" line that starts a message
// stored in an mbox file: it is not a header field and would otherwise end
// the header block before it began.
func skipMboxLine(raw []byte) int {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return 0
	}
	_, next := nextLine(raw, 0)
	return next
}
