package gue

import (
	"testing"
	"time"
)

func TestDefaultExponentialBackoffGrowsWithJitterAndCap(t *testing.T) {
	for retries := 0; retries <= 30; retries++ {
		base := float64(time.Second)
		for i := 0; i < retries; i++ {
			base *= 1.6
		}
		for k := 0; k < 50; k++ {
			d := DefaultExponentialBackoff(retries)
			if d > time.Hour {
				t.Fatalf("retries %d: %v exceeds the 1h cap", retries, d)
			}
			if base < float64(time.Hour)*0.8 && (float64(d) < base*0.8-1 || float64(d) > base*1.2+1) {
				t.Fatalf("retries %d: %v outside ±20%% of %v", retries, d, time.Duration(base))
			}
		}
	}
	if d := DefaultExponentialBackoff(1000); d != time.Hour {
		t.Errorf("huge retry count: %v, want the cap", d)
	}
}

func TestExponentialBackoffWithoutJitterIsExact(t *testing.T) {
	b := ExponentialBackoff(100*time.Millisecond, 2, time.Second, 0)
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for retries, w := range want {
		if got := b(retries); got != w {
			t.Errorf("retries %d: %v, want %v", retries, got, w)
		}
	}
	if got := b(-5); got != 100*time.Millisecond {
		t.Errorf("negative retries: %v, want the initial delay", got)
	}
}

func TestConstantBackoff(t *testing.T) {
	if got := ConstantBackoff(3 * time.Second)(7); got != 3*time.Second {
		t.Errorf("got %v", got)
	}
}

func TestJitterStaysWithinAQuarter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 1000; i++ {
		d := jittered(100 * time.Millisecond)
		if d < 75*time.Millisecond || d > 125*time.Millisecond {
			t.Fatalf("jittered(100ms) = %v, outside ±25%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct intervals in 1000 draws", len(seen))
	}
}
