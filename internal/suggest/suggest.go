// Package suggest finds the known name closest to a mistyped one, for
// "did you mean" hints in configuration errors.
package suggest

// Nearest returns the candidate closest to key when it is close enough to
// be a typo (at most two edits, and fewer than half of key's letters), or
// "". Bridges use it too, for their options.
func Nearest(key string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := editDistance(key, c)
		if d < bestDist && 2*d < len(key) {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean is ` (did you mean "x"?)` for the nearest candidate, or "".
func DidYouMean(key string, candidates []string) string {
	if n := Nearest(key, candidates); n != "" {
		return ` (did you mean "` + n + `"?)`
	}
	return ""
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbouring letters that turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
