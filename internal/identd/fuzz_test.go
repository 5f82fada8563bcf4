package identd

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// Whatever a client sends, the answer is one line that echoes nothing
// but two port numbers in range.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{"6191, 23", "6193,23", " 1 , 65535 ", "0,1", "65536,1", "a,b", ",", "", "1,2,3", "+1,2", "-1,2", "1\x00,2"} {
		f.Add(seed)
	}
	s := &Server{table: NewTable()}
	f.Fuzz(func(t *testing.T, line string) {
		got := s.answer(context.Background(), netipLoopback, line)
		if strings.ContainsAny(got, "\r\n\x00") {
			t.Fatalf("answer %q has a line break or NUL", got)
		}
		ports, rest, ok := strings.Cut(got, " : ")
		if !ok || (rest != "ERROR : NO-USER" && rest != "ERROR : INVALID-PORT") {
			t.Fatalf("answer %q", got)
		}
		a, b, _ := strings.Cut(ports, ", ")
		for _, p := range []string{a, b} {
			if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
				t.Fatalf("answer %q has port %q", got, p)
			}
		}
	})
}
