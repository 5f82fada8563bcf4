package serial

import (
	"sync"
	"testing"
)

// Items added from many goroutines are each committed once, in batches
// no larger than the maximum, and one caller's items keep their order.
func TestGroupCommitsEveryItemOnceInOrder(t *testing.T) {
	const writers, each, max = 8, 500, 64
	var mu sync.Mutex
	seen := map[[2]int]int{}
	last := map[int]int{}
	g := NewGroup(max, func(batch [][2]int) {
		if len(batch) > max {
			t.Errorf("batch of %d, max %d", len(batch), max)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, it := range batch {
			seen[it]++
			if prev, ok := last[it[0]]; ok && it[1] <= prev {
				t.Errorf("writer %d: item %d after %d", it[0], it[1], prev)
			}
			last[it[0]] = it[1]
		}
	})
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				g.Add([2]int{w, i})
			}
		})
	}
	wg.Wait()
	g.Sync()
	mu.Lock()
	defer mu.Unlock()
	for w := 0; w < writers; w++ {
		for i := 0; i < each; i++ {
			if seen[[2]int{w, i}] != 1 {
				t.Fatalf("item %d of writer %d committed %d times", i, w, seen[[2]int{w, i}])
			}
		}
	}
}
