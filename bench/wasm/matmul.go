// bench/wasm.ts's Go peer for matmul: Gluster's kernel, the textbook i-j-k loop over
// [][]float64, in one process on one core (GOMAXPROCS=1), on the same mulberry32 matrices
// as examples/matmul/kernel.ts's randomMatrix(n, 1 and 2).
//
// Usage: go run matmul.go N REPS. Per rep prints "ms <wall ms> sum <sum of C>".
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func random(n int, seed uint32) [][]float64 {
	m := make([][]float64, n)
	s := seed
	for i := range m {
		m[i] = make([]float64, n)
		for j := range m[i] {
			s += 0x6d2b79f5
			t := s
			t = (t ^ (t >> 15)) * (t | 1)
			t ^= t + (t^(t>>7))*(t|61)
			m[i][j] = float64(t^(t>>14))/4294967296*2 - 1
		}
	}
	return m
}

func multiply(a, b [][]float64, n int) [][]float64 {
	c := make([][]float64, n)
	for i := 0; i < n; i++ {
		c[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			sum := 0.0
			for k := 0; k < n; k++ {
				sum += a[i][k] * b[k][j]
			}
			c[i][j] = sum
		}
	}
	return c
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	reps, _ := strconv.Atoi(os.Args[2])
	a, b := random(n, 1), random(n, 2)
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		c := multiply(a, b, n)
		ms := float64(time.Since(t0).Microseconds()) / 1000
		sum := 0.0
		for i := range c {
			for j := range c[i] {
				sum += c[i][j]
			}
		}
		fmt.Printf("ms %.3f sum %.17g\n", ms, sum)
	}
}
