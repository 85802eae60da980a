package main

import (
	"math"
	"math/bits"
)

// hist is a log-linear histogram of nanosecond values: exact below 64 ns, then 32 sub-buckets per power
// of two (at most ~3% relative error), like HdrHistogram with two significant digits. Recording is
// allocation-free; each goroutine records into its own and they are merged at the end.
const (
	histSub     = 32
	histBuckets = 64 * histSub
)

type hist struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64
	max    int64
	min    int64
}

func newHist() *hist { return &hist{min: math.MaxInt64} }

func bucketOf(v int64) int {
	if v < 64 {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 6
	return e*histSub + int(uint64(v)>>uint(e))
}

// upper is the largest value that falls in bucket i (reported percentiles err on the high side).
func upper(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	e := i/histSub - 1
	sub := int64(i - e*histSub)
	return ((sub + 1) << uint(e)) - 1
}

func (h *hist) record(v int64) {
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	if v > h.max {
		h.max = v
	}
	if v < h.min {
		h.min = v
	}
}

func (h *hist) merge(o *hist) {
	if o == nil {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
	if o.min < h.min {
		h.min = o.min
	}
}

// quantile q in [0, 1], in nanoseconds (0 when empty).
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := upper(i)
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}

type latency struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func (h *hist) summary() latency {
	if h.n == 0 {
		return latency{}
	}
	ms := func(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }
	return latency{
		Count:  h.n,
		MeanMs: math.Round(h.sum/float64(h.n)/1e3) / 1e3,
		P50Ms:  ms(h.quantile(0.50)),
		P90Ms:  ms(h.quantile(0.90)),
		P99Ms:  ms(h.quantile(0.99)),
		P999Ms: ms(h.quantile(0.999)),
		MaxMs:  ms(h.max),
	}
}
