package procstat

import (
	"os"
	"testing"
	"time"
)

// CPU grows while this process works; Syscalls("self") counts the reads it makes.
func TestCountersMove(t *testing.T) {
	c0 := CPU()
	for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
	}
	if c1 := CPU(); c1 <= c0 {
		t.Errorf("CPU did not grow: %v then %v", c0, c1)
	}
	r0, _ := Syscalls("self")
	for range 5 {
		if _, err := os.ReadFile("/proc/self/stat"); err != nil {
			t.Fatal(err)
		}
	}
	if r1, _ := Syscalls("self"); r1 < r0+5 {
		t.Errorf("reads %d then %d, want at least 5 more", r0, r1)
	}
	if r, w := Syscalls("no-such-pid"); r != 0 || w != 0 {
		t.Errorf("an unreadable process: %d, %d", r, w)
	}
}
