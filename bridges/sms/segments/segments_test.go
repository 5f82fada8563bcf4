package segments

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refBasic is the GSM 03.38 default alphabet as code points, in code order
// 0x00–0x7F, written independently of basicTable to catch typos in it.
// Slot 0x1B (ESC) is 0x1B.
var refBasic = [128]rune{
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, // @ £ $ ¥ è é ù ì
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, // ò Ç LF Ø ø CR Å å
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, // Δ _ Φ Γ Λ Ω Π Ψ
	0x03A3, 0x0398, 0x039E, 0x001B, 0x00C6, 0x00E6, 0x00DF, 0x00C9, // Σ Θ Ξ ESC Æ æ ß É
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, // SP ! " # ¤ % & '
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, // ( ) * + , - . /
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, // 0–7
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, // 8 9 : ; < = > ?
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, // ¡ A–G
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, // H–O
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, // P–W
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, // X Y Z Ä Ö Ñ Ü §
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, // ¿ a–g
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, // h–o
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, // p–w
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, // x y z ä ö ñ ü à
}

// refExtension is the GSM 03.38 extension table's characters as code points:
// FF ^ { } \ [ ~ ] | €.
var refExtension = []rune{0x000C, 0x005E, 0x007B, 0x007D, 0x005C, 0x005B, 0x007E, 0x005D, 0x007C, 0x20AC}

// refSeptets is a map-based reference for septets.
var refSeptets = func() map[rune]int {
	m := make(map[rune]int)
	for _, r := range refBasic {
		if r != 0x1B {
			m[r] = 1
		}
	}
	for _, r := range refExtension {
		m[r] = 2
	}
	return m
}()

// refPlan is a straightforward reference for Measure and Split, working on
// []rune: it returns the count and the parts as rune slices.
func refPlan(text string) (Count, [][]rune) {
	runes := []rune(text)
	enc := GSM7
	for _, r := range runes {
		if refSeptets[r] == 0 {
			enc = UCS2
			break
		}
	}
	unit := func(r rune) int {
		if enc == GSM7 {
			return refSeptets[r]
		}
		if r >= 0x10000 {
			return 2
		}
		return 1
	}
	total := 0
	for _, r := range runes {
		total += unit(r)
	}
	single, multi := 160, 153
	if enc == UCS2 {
		single, multi = 70, 67
	}
	if total <= single {
		return Count{enc, 1, total, single}, [][]rune{runes}
	}
	var parts [][]rune
	var cur []rune
	fill := 0
	for _, r := range runes {
		if fill+unit(r) > multi {
			parts = append(parts, cur)
			cur, fill = nil, 0
		}
		cur = append(cur, r)
		fill += unit(r)
	}
	parts = append(parts, cur)
	return Count{enc, len(parts), total, multi}, parts
}

// cost is r's cost in enc.
func cost(r rune, enc Encoding) int {
	if enc == GSM7 {
		return septets(r)
	}
	return utf16Units(r)
}

// limits returns the single-part and multipart capacities of enc.
func limits(enc Encoding) (single, multi int) {
	if enc == GSM7 {
		return GSM7Single, GSM7Multi
	}
	return UCS2Single, UCS2Multi
}

// unitsIn is text's size in enc: septets or UTF-16 code units.
func unitsIn(text string, enc Encoding) int {
	n := 0
	for _, r := range text {
		n += cost(r, enc)
	}
	return n
}

func TestBasicTable(t *testing.T) {
	got := []rune(basicTable)
	if len(got) != 128 {
		t.Fatalf("basicTable has %d characters, want 128", len(got))
	}
	for i, r := range got {
		if r != refBasic[i] {
			t.Errorf("basicTable[0x%02X] = %U %q, want %U %q", i, r, r, refBasic[i], refBasic[i])
		}
	}
	if got := []rune(extensionTable); !slices.Equal(got, refExtension) {
		t.Errorf("extensionTable = %U, want %U", got, refExtension)
	}
}

// TestAlphabetExhaustive checks the cost of every Unicode code point.
func TestAlphabetExhaustive(t *testing.T) {
	ones, twos := 0, 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		got, want := septets(r), refSeptets[r]
		if got != want {
			t.Fatalf("septets(%U) = %d, want %d", r, got, want)
		}
		switch got {
		case 1:
			ones++
		case 2:
			twos++
		}
		if !utf8.ValidRune(r) {
			continue
		}
		if s := string(r); IsGSM7(s) != (want > 0) {
			t.Fatalf("IsGSM7(%U) = %v, want %v", r, !(want > 0), want > 0)
		}
	}
	// 128 slots minus ESC; 10 extension characters.
	if ones != 127 || twos != 10 {
		t.Errorf("%d one-septet and %d two-septet characters, want 127 and 10", ones, twos)
	}
}

func TestAlphabetSpotChecks(t *testing.T) {
	for _, tc := range []struct {
		s    string
		gsm7 bool
	}{
		{"$", true}, {"¤", true}, {"£", true}, {"¥", true}, {"@", true},
		{"_", true}, {"§", true}, {"¡", true}, {"¿", true}, {"à", true},
		{"Ç", true}, {"ç", false}, // only capital C cedilla is in the table
		{"`", false}, // no backtick
		{"¢", false}, {"á", false}, {"À", false}, {"ê", false},
		{"\u0394", true}, {"\u2206", false}, // Greek Δ yes, INCREMENT no
		{"\u03A9", true}, {"\u2126", false}, // Greek Ω yes, OHM SIGN no
		{"\n", true}, {"\r", true}, {"\f", true}, {"\t", false}, {"\x00", false},
		{"\x1b", false}, // literal ESC: see package doc
		{"€", true}, {"\xff", false}, {"\uFFFD", false},
		{"’", false}, {"“", false}, // typographic quotes force UCS-2
	} {
		if got := IsGSM7(tc.s); got != tc.gsm7 {
			t.Errorf("IsGSM7(%+q) = %v, want %v", tc.s, got, tc.gsm7)
		}
	}
	// Every printable ASCII character but the backtick is GSM-7.
	for c := byte(0x20); c < 0x7F; c++ {
		if got, want := IsGSM7(string(c)), c != '`'; got != want {
			t.Errorf("IsGSM7(%q) = %v, want %v", c, got, want)
		}
	}
}

func TestMeasureSplit(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	ya := func(n int) string { return strings.Repeat("я", n) } // Cyrillic, UCS-2
	const emoji = "😀"                                          // U+1F600, a surrogate pair

	for _, tc := range []struct {
		name  string
		text  string
		want  Count
		sizes []int    // each part's units in the message's encoding
		parts []string // if set, the exact parts
	}{
		{"empty", "", Count{GSM7, 1, 0, 160}, []int{0}, []string{""}},
		{"one char", "a", Count{GSM7, 1, 1, 160}, []int{1}, nil},
		{"GSM 160", a(160), Count{GSM7, 1, 160, 160}, []int{160}, nil},
		{"GSM 161", a(161), Count{GSM7, 2, 161, 153}, []int{153, 8}, nil},
		{"GSM 153*2", a(306), Count{GSM7, 2, 306, 153}, []int{153, 153}, nil},
		{"GSM 153*2+1", a(307), Count{GSM7, 3, 307, 153}, []int{153, 153, 1}, nil},
		{"GSM 153*3", a(459), Count{GSM7, 3, 459, 153}, []int{153, 153, 153}, nil},
		{"ext fills 160", a(158) + "€", Count{GSM7, 1, 160, 160}, []int{160}, nil},
		{"ext makes 161", a(159) + "€", Count{GSM7, 2, 161, 153}, []int{153, 8}, nil},
		{
			"ext at part boundary moves", a(152) + "[" + a(10),
			Count{GSM7, 2, 164, 153}, []int{152, 12},
			[]string{a(152), "[" + a(10)},
		},
		{
			"ext just fits part", a(151) + "]" + a(10),
			Count{GSM7, 2, 163, 153}, []int{153, 10},
			[]string{a(151) + "]", a(10)},
		},
		{
			"ext at boundary adds a part", a(152) + "€" + a(152),
			Count{GSM7, 3, 306, 153}, []int{152, 153, 1},
			[]string{a(152), "€" + a(151), "a"},
		},
		{"all ext chars", "\f^{}\\[~]|€", Count{GSM7, 1, 20, 160}, []int{20}, nil},
		{"euro", "€", Count{GSM7, 1, 2, 160}, []int{2}, nil},
		{"euro price", "5€ or $5 or ¤5", Count{GSM7, 1, 15, 160}, []int{15}, nil},
		{"80 euros", strings.Repeat("€", 80), Count{GSM7, 1, 160, 160}, []int{160}, nil},
		{"81 euros", strings.Repeat("€", 81), Count{GSM7, 2, 162, 153}, []int{152, 10}, nil},
		{"greek and accents", "ΔΦΓΛΩΠΨΣΘΞ ÄÖÑÜäöñüàèéùìòÇØøÅåÆæßÉ", Count{GSM7, 1, 34, 160}, []int{34}, nil},
		{"UCS2 70", ya(70), Count{UCS2, 1, 70, 70}, []int{70}, nil},
		{"UCS2 71", ya(71), Count{UCS2, 2, 71, 67}, []int{67, 4}, nil},
		{"UCS2 67*2", ya(134), Count{UCS2, 2, 134, 67}, []int{67, 67}, nil},
		{"UCS2 67*2+1", ya(135), Count{UCS2, 3, 135, 67}, []int{67, 67, 1}, nil},
		{"UCS2 67*3", ya(201), Count{UCS2, 3, 201, 67}, []int{67, 67, 67}, nil},
		{"UCS2 67*3+1", ya(202), Count{UCS2, 4, 202, 67}, []int{67, 67, 67, 1}, nil},
		{"emoji", emoji, Count{UCS2, 1, 2, 70}, []int{2}, nil},
		{"emoji fills 70", ya(68) + emoji, Count{UCS2, 1, 70, 70}, []int{70}, nil},
		{"emoji makes 71", ya(69) + emoji, Count{UCS2, 2, 71, 67}, []int{67, 4}, nil},
		{
			"emoji at boundary moves whole", ya(66) + emoji + ya(10),
			Count{UCS2, 2, 78, 67}, []int{66, 12},
			[]string{ya(66), emoji + ya(10)},
		},
		{
			"emoji at boundary adds a part", ya(66) + emoji + ya(66),
			Count{UCS2, 3, 134, 67}, []int{66, 67, 1},
			[]string{ya(66), emoji + ya(65), "я"},
		},
		{"35 emoji", strings.Repeat(emoji, 35), Count{UCS2, 1, 70, 70}, []int{70}, nil},
		{"36 emoji", strings.Repeat(emoji, 36), Count{UCS2, 2, 72, 67}, []int{66, 6}, nil},
		{"one non-GSM char forces UCS2", a(69) + "я", Count{UCS2, 1, 70, 70}, []int{70}, nil},
		{"mixed 160", a(159) + "я", Count{UCS2, 3, 160, 67}, []int{67, 67, 26}, nil},
		{"backtick forces UCS2", a(100) + "`", Count{UCS2, 2, 101, 67}, []int{67, 34}, nil},
		{"ç forces UCS2", "garçon", Count{UCS2, 1, 6, 70}, []int{6}, nil},
		{"ext char in UCS2 costs 1", "€я", Count{UCS2, 1, 2, 70}, []int{2}, nil},
		{"ESC forces UCS2", "a\x1bb", Count{UCS2, 1, 3, 70}, []int{3}, nil},
		{"invalid UTF-8", "a\xffb", Count{UCS2, 1, 3, 70}, []int{3}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Measure(tc.text)
			if got != tc.want {
				t.Errorf("Measure = %+v, want %+v", got, tc.want)
			}
			if ref, _ := refPlan(tc.text); ref != tc.want {
				t.Errorf("reference = %+v, want %+v (bad test case?)", ref, tc.want)
			}
			if g := IsGSM7(tc.text); g != (tc.want.Encoding == GSM7) {
				t.Errorf("IsGSM7 = %v", g)
			}
			parts := Split(tc.text)
			var sizes []int
			for _, p := range parts {
				sizes = append(sizes, unitsIn(p, tc.want.Encoding))
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("part sizes = %v, want %v", sizes, tc.sizes)
			}
			if tc.parts != nil && !slices.Equal(parts, tc.parts) {
				t.Errorf("Split = %q, want %q", parts, tc.parts)
			}
			if j := strings.Join(parts, ""); j != tc.text {
				t.Errorf("parts rejoin to %q", j)
			}
		})
	}
}

func TestEncodingString(t *testing.T) {
	if GSM7.String() != "GSM-7" || UCS2.String() != "UCS-2" || Encoding(7).String() != "Encoding(?)" {
		t.Errorf("String: %v %v %v", GSM7, UCS2, Encoding(7))
	}
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		"", "a", "hello", "€", "😀", "я", "\x1b", "\xff", "a\xe2\x82", "\xf0\x9f\x98",
		strings.Repeat("a", 160), strings.Repeat("a", 161), strings.Repeat("a", 306),
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("я", 70), strings.Repeat("я", 71), strings.Repeat("я", 134),
		strings.Repeat("я", 66) + "😀" + strings.Repeat("я", 66),
		strings.Repeat("😀", 36), strings.Repeat("€", 81),
		strings.Repeat("a", 159) + "я", strings.Repeat("[", 77) + "`",
		"\f^{}\\[~]|€" + strings.Repeat("x", 150),
		"👩‍👩‍👧‍👦 family " + strings.Repeat("é", 70),
	} {
		f.Add(s)
	}
}

func FuzzSplit(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		c := Measure(text)
		parts := Split(text)
		if c.Parts != len(parts) {
			t.Fatalf("Measure.Parts = %d, len(Split) = %d", c.Parts, len(parts))
		}
		if j := strings.Join(parts, ""); j != text {
			t.Fatalf("parts %q rejoin to %q", parts, j)
		}
		single, multi := limits(c.Encoding)
		if want := single; c.Parts > 1 {
			want = multi
			if c.PerPart != want {
				t.Fatalf("PerPart = %d, want %d", c.PerPart, want)
			}
		} else if c.PerPart != want {
			t.Fatalf("PerPart = %d, want %d", c.PerPart, want)
		}
		var runes []rune
		total := 0
		for i, p := range parts {
			pc := Measure(p)
			if pc.Parts != 1 {
				t.Fatalf("part %d %q measures %+v", i, p, pc)
			}
			u := unitsIn(p, c.Encoding)
			if u > c.PerPart {
				t.Fatalf("part %d %q is %d units > %d", i, p, u, c.PerPart)
			}
			if c.Parts > 1 && u == 0 {
				t.Fatalf("part %d is empty", i)
			}
			// Parts are filled greedily: the next part's first character
			// would not have fitted.
			if i+1 < len(parts) {
				r, _ := utf8.DecodeRuneInString(parts[i+1])
				if u+cost(r, c.Encoding) <= c.PerPart {
					t.Fatalf("part %d (%d units) could have taken %q", i, u, r)
				}
			}
			total += u
			runes = append(runes, []rune(p)...)
		}
		if total != c.Units {
			t.Fatalf("parts sum to %d units, Measure says %d", total, c.Units)
		}
		// No character (escape pair, surrogate pair, UTF-8 sequence) is cut.
		if !slices.Equal(runes, []rune(text)) {
			t.Fatalf("parts split a character")
		}
		if c.Parts == 1 && c.Units > single {
			t.Fatalf("one part of %d units", c.Units)
		}
		if IsGSM7(text) != (c.Encoding == GSM7) {
			t.Fatalf("IsGSM7 disagrees with %v", c.Encoding)
		}
	})
}

func FuzzMeasure(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		c := Measure(text)
		_ = IsGSM7(text)
		_ = Split(text)
		ref, refParts := refPlan(text)
		if c != ref {
			t.Fatalf("Measure = %+v, reference %+v", c, ref)
		}
		if c.Parts < 1 || c.Units < 0 || c.Units < (c.Parts-1)*(c.PerPart/2) {
			t.Fatalf("implausible %+v", c)
		}
		if len(refParts) != c.Parts {
			t.Fatalf("reference has %d parts, Measure %d", len(refParts), c.Parts)
		}
	})
}

func benchText(unit string) string {
	var b strings.Builder
	for b.Len() < 1024 {
		b.WriteString(unit)
	}
	return b.String()[:1024]
}

func BenchmarkMeasure(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"GSM7", benchText("The quick brown fox jumps over the lazy dog; prix: 5€. ")},
		{"UCS2", strings.ToValidUTF8(benchText("Съешь же ещё этих мягких булок 😀 "), "")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				Measure(bc.text)
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	text := benchText("The quick brown fox jumps over the lazy dog; prix: 5€. ")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Split(text)
	}
}

func ExampleMeasure() {
	c := Measure(strings.Repeat("a", 152) + "€ and more")
	fmt.Println(c.Encoding, c.Parts, c.Units, c.PerPart)
	fmt.Printf("%q\n", Split("Hi 😀")[0])
	// Output:
	// GSM-7 2 163 153
	// "Hi 😀"
}
