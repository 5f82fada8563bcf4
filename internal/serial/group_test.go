package serial

import (
	"slices"
	"sync"
	"testing"
	"time"
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

// A lingering group commits on its own goroutine (Add returns while the
// commit is held), and what is added during a commit shares the next one;
// Sync waits for all of it.
func TestLingeringGroupBatches(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	started, gate := make(chan struct{}), make(chan struct{})
	g := NewLingeringGroup(100, time.Millisecond, func(batch []int) {
		mu.Lock()
		first := len(batches) == 0
		batches = append(batches, slices.Clone(batch))
		mu.Unlock()
		if first {
			close(started)
			<-gate
		}
	})
	g.Add(0)
	<-started
	for i := 1; i < 10; i++ {
		g.Add(i)
	}
	close(gate)
	g.Sync()
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || len(batches[0]) != 1 || len(batches[1]) != 9 {
		t.Fatalf("batches %v, want [0] then the nine added during its commit", batches)
	}
}

// Sync in a lingering group commits at once rather than after the linger.
func TestLingeringGroupSyncCutsTheLingerShort(t *testing.T) {
	committed := make(chan []int, 1)
	g := NewLingeringGroup(10, time.Hour, func(batch []int) { committed <- slices.Clone(batch) })
	g.Add(1)
	g.Add(2)
	g.Sync()
	if got := <-committed; !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("committed %v", got)
	}
}
