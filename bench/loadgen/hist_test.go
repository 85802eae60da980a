package main

import "testing"

func TestBucketsAreMonotonicAndTight(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 63, 64, 65, 95, 96, 127, 128, 1000, 1 << 20, 1<<20 + 12345, 1 << 40} {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucket of %d is %d < %d", v, b, prev)
		}
		prev = b
		if u := upper(b); u < v || float64(u-v) > 0.04*float64(v)+1 {
			t.Fatalf("value %d in bucket %d with upper %d", v, b, u)
		}
	}
}

func TestQuantiles(t *testing.T) {
	h := newHist()
	for i := int64(1); i <= 1000; i++ {
		h.record(i * 1000)
	}
	if q := h.quantile(0.5); q < 500_000 || q > 520_000 {
		t.Fatalf("p50 %d", q)
	}
	if q := h.quantile(0.99); q < 990_000 || q > 1_000_000 {
		t.Fatalf("p99 %d", q)
	}
	if h.quantile(1) != 1_000_000 {
		t.Fatalf("max %d", h.quantile(1))
	}
}
