package mailparse

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

const (
	// maxDepth bounds multipart nesting; a deeper multipart is kept as one
	// opaque part. It also bounds our recursion.
	maxDepth = 20
	// maxParts bounds the number of MIME entities looked at; those after it
	// are ignored.
	maxParts = 500
)

var errNoHeader = errors.New("mailparse: no header block")

// part is one MIME entity. Its body still has its transfer encoding.
type part struct {
	path        string // IMAP section number; "" for a multipart message itself
	mediaType   string // lower-case "type/subtype"
	params      map[string]string
	disposition string // lower-case; "" when absent
	dispParams  map[string]string
	encoding    string // lower-case Content-Transfer-Encoding
	body        []byte
	children    []*part // nil for a leaf
}

// tree is a message split into its MIME structure.
type tree struct {
	header header // the message's own header
	root   *part
}

// parseTree reads the structure of raw. Parse and OpenPart both use it, so
// the section numbers that Parse hands out are the ones OpenPart finds.
func parseTree(raw []byte) (*tree, error) {
	start := skipMboxLine(raw)
	h, off := readHeader(raw[start:], topLimits)
	if len(h) == 0 {
		return nil, errNoHeader
	}
	var b builder
	root := b.build(h, raw[start+off:], "", 0, "text/plain")
	if root.children == nil {
		root.path = "1" // RFC 3501: a non-multipart message's body is part 1
	}
	return &tree{header: h, root: root}, nil
}

// builder counts the entities built so far against maxParts.
type builder struct{ count int }

func (b *builder) build(h header, body []byte, path string, depth int, defType string) *part {
	b.count++
	p := &part{path: path, body: body}
	p.setContentType(h.get("content-type"), defType)
	p.disposition, p.dispParams = parseHeaderValue(h.get("content-disposition"))
	p.encoding = strings.ToLower(strings.TrimSpace(h.get("content-transfer-encoding")))
	if !strings.HasPrefix(p.mediaType, "multipart/") || depth >= maxDepth {
		return p
	}
	b.split(p, depth)
	if len(p.children) == 0 && b.count < maxParts {
		// No boundary, or no delimiter line: whatever is there is most
		// likely text, so show it rather than hide it.
		p.mediaType, p.params = "text/plain", map[string]string{}
	}
	return p
}

// setContentType applies RFC 2045 §5.2: a missing or invalid Content-Type
// means the default type (text/plain, or message/rfc822 in a digest).
func (p *part) setContentType(v, defType string) {
	t, params := parseHeaderValue(v)
	if !validMediaType(t) {
		t, params = defType, map[string]string{}
	}
	p.mediaType, p.params = t, params
}

func validMediaType(t string) bool {
	typ, sub, ok := strings.Cut(t, "/")
	return ok && typ != "" && sub != "" && !strings.ContainsAny(typ+sub, " \t\"/")
}

func (b *builder) split(p *part, depth int) {
	boundary := p.params["boundary"]
	if boundary == "" {
		return
	}
	childType := "text/plain"
	if p.mediaType == "multipart/digest" {
		childType = "message/rfc822"
	}
	for i, pb := range splitMultipart(p.body, boundary, maxParts-b.count) {
		if b.count >= maxParts {
			break
		}
		h, off := readHeader(pb, partLimits)
		path := strconv.Itoa(i + 1)
		if p.path != "" {
			path = p.path + "." + path
		}
		p.children = append(p.children, b.build(h, pb[off:], path, depth+1, childType))
	}
}

// splitMultipart returns the (header and body) contents of the first max
// parts of a multipart body. The preamble and epilogue are dropped; a part
// whose closing delimiter is missing runs to the end of the body.
func splitMultipart(body []byte, boundary string, max int) [][]byte {
	dash := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // where the current part's content begins
	for pos := 0; pos < len(body) && len(parts) < max; {
		i := bytes.Index(body[pos:], dash)
		if i < 0 {
			break
		}
		at := pos + i
		if at > 0 && body[at-1] != '\n' {
			pos = at + len(dash) // not at the start of a line
			continue
		}
		line, next := nextLine(body, at)
		rest := line[len(dash):]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		if len(trimWSP(rest)) != 0 {
			pos = at + len(dash) // a longer boundary that starts the same
			continue
		}
		if start >= 0 {
			parts = append(parts, body[start:contentEnd(body, start, at)])
		}
		if closing {
			return parts
		}
		start, pos = next, next
	}
	if start >= 0 && len(parts) < max {
		parts = append(parts, body[start:])
	}
	return parts
}

// contentEnd drops the line break before a delimiter at offset at: it
// belongs to the delimiter (RFC 2046 §5.1.1).
func contentEnd(body []byte, start, at int) int {
	end := at
	if end > start && body[end-1] == '\n' {
		end--
	}
	if end > start && body[end-1] == '\r' {
		end--
	}
	return end
}

// lookup finds the part at IMAP section path.
func (t *tree) lookup(path string) (*part, error) {
	nums, err := parsePath(path)
	if err != nil {
		return nil, err
	}
	if t.root.children == nil {
		if len(nums) == 1 && nums[0] == 1 {
			return t.root, nil
		}
		return nil, errNoPart(path)
	}
	p := t.root
	for _, n := range nums {
		if n > len(p.children) {
			return nil, errNoPart(path)
		}
		p = p.children[n-1]
	}
	return p, nil
}

func errNoPart(path string) error {
	return errors.New("mailparse: no part " + strconv.Quote(path))
}

// parsePath parses "1.2.3", accepting only the canonical spelling.
func parsePath(path string) ([]int, error) {
	fields := strings.Split(path, ".")
	if len(fields) > maxDepth {
		return nil, errNoPart(path)
	}
	nums := make([]int, 0, len(fields))
	for _, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > maxParts || f[0] == '0' || f[0] == '+' {
			return nil, errNoPart(path)
		}
		nums = append(nums, n)
	}
	return nums, nil
}
