package mailparse

import "strings"

// maxNameLen is the longest file name kept, in bytes (a common file system
// limit).
const maxNameLen = 255

// attachments lists the leaves of the tree that are worth offering: every
// leaf but the body, except the other renderings of the body.
func attachments(root *part, body *part) []Attachment {
	var out []Attachment
	collect(root, body, false, false, &out)
	return out
}

// collect walks p. otherRendering is set inside a branch of a
// multipart/alternative that is not the one shown; inRelated inside a
// multipart/related (the images of an HTML rendering).
func collect(p, body *part, otherRendering, inRelated bool, out *[]Attachment) {
	if p.children == nil {
		if p != body && !(otherRendering && isRendering(p, inRelated)) {
			*out = append(*out, p.attachment())
		}
		return
	}
	primary := -1
	if p.mediaType == "multipart/alternative" {
		primary = primaryAlternative(p, body)
	}
	related := inRelated || p.mediaType == "multipart/related"
	for i, c := range p.children {
		other := otherRendering || (primary >= 0 && i != primary)
		collect(c, body, other, related, out)
	}
}

// isRendering reports whether a leaf of an unshown alternative is just
// another rendering of the text: the text itself or an image for the HTML.
// Explicit attachments and other types (a text/calendar invitation) are
// still offered: some mailers put attachments in the HTML branch only.
func isRendering(p *part, inRelated bool) bool {
	if p.disposition == "attachment" {
		return false
	}
	return inRelated || p.mediaType == "text/plain" || p.mediaType == "text/html"
}

// primaryAlternative returns the index of the alternative that holds the
// body, or else the one that would be shown (plain text first, then HTML),
// or else the last one, which RFC 2046 §5.1.4 calls the preferred one.
func primaryAlternative(p, body *part) int {
	for i, c := range p.children {
		if body != nil && contains(c, body) {
			return i
		}
	}
	for _, want := range []string{"text/plain", "text/html"} {
		for i, c := range p.children {
			if findBody(c, want) != nil {
				return i
			}
		}
	}
	return len(p.children) - 1
}

func contains(p, target *part) bool {
	if p == target {
		return true
	}
	for _, c := range p.children {
		if contains(c, target) {
			return true
		}
	}
	return false
}

func (p *part) attachment() Attachment {
	_, size := decodeTransfer(p.encoding, p.body, 0)
	return Attachment{Name: p.fileName(), ContentType: p.mediaType, Size: size, Part: p.path}
}

// fileName returns the part's own file name, else a made-up one.
func (p *part) fileName() string {
	if n := p.ownName(); n != "" {
		return n
	}
	return "part-" + p.path + extension(p.mediaType)
}

// ownName returns the file name the sender gave, made safe to show and to
// save: decoded, on one line, without any directory.
func (p *part) ownName() string {
	n := p.dispParams["filename"]
	if strings.TrimSpace(n) == "" {
		n = p.params["name"]
	}
	n = cleanLine(decodeWords(n))
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.TrimSpace(n)
	if n == "." || n == ".." {
		return ""
	}
	return truncateUTF8(n, maxNameLen)
}

// extensions gives made-up names a useful extension. mime.ExtensionsByType
// is not used: it depends on the host's mime.types files.
var extensions = map[string]string{
	"text/plain":                       ".txt",
	"text/html":                        ".html",
	"text/calendar":                    ".ics",
	"text/csv":                         ".csv",
	"text/rfc822-headers":              ".txt",
	"message/rfc822":                   ".eml",
	"message/global":                   ".eml",
	"message/delivery-status":          ".txt",
	"message/global-delivery-status":   ".txt",
	"message/disposition-notification": ".txt",
	"application/pdf":                  ".pdf",
	"application/zip":                  ".zip",
	"application/pgp-signature":        ".asc",
	"application/pgp-encrypted":        ".asc",
	"application/pgp-keys":             ".asc",
	"application/ics":                  ".ics",
	"image/png":                        ".png",
	"image/jpeg":                       ".jpg",
	"image/gif":                        ".gif",
	"image/webp":                       ".webp",
	"image/svg+xml":                    ".svg",
	"audio/mpeg":                       ".mp3",
	"audio/ogg":                        ".ogg",
	"video/mp4":                        ".mp4",
}

func extension(mediaType string) string {
	if e, ok := extensions[mediaType]; ok {
		return e
	}
	return ".bin"
}
