// bench/wasm.ts's Go peer for word count: one process, bufio + map[string]int, the
// tokenization of examples/wordcount/count.ts (lowercase, runs of letters joined by
// apostrophes between letters, ’ counted as '). Go's unicode tables may be an older Unicode
// than Node's and unicode.ToLower is the simple mapping (no final sigma, İ is i): the same
// on Moby-Dick, which the benchmark checks by comparing totals.
//
// Usage: go run wordcount.go FILE REPS. Per rep prints "ms <wall ms> words <total> distinct <n>".
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

func isLetter(r rune) bool { return unicode.IsLetter(unicode.ToLower(r)) }

func count(path string) (map[string]int, int) {
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	counts := make(map[string]int)
	total := 0
	word := make([]byte, 0, 64)
	sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<16))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() { // lines: no word crosses a newline
		line := sc.Bytes()
		for i := 0; i < len(line); {
			r, n := rune(line[i]), 1
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRune(line[i:])
			}
			if r == '’' {
				r = '\''
			}
			if r == '\'' && len(word) > 0 && i+n < len(line) {
				r2, n2 := rune(line[i+n]), 1
				if r2 >= utf8.RuneSelf {
					r2, n2 = utf8.DecodeRune(line[i+n:])
				}
				if isLetter(r2) {
					word = append(word, '\'')
					word = utf8.AppendRune(word, unicode.ToLower(r2))
					i += n + n2
					continue
				}
			}
			if 'a' <= r && r <= 'z' {
				word = append(word, byte(r))
			} else if 'A' <= r && r <= 'Z' {
				word = append(word, byte(r+32))
			} else if r >= utf8.RuneSelf && isLetter(r) {
				word = utf8.AppendRune(word, unicode.ToLower(r))
			} else if len(word) > 0 {
				counts[string(word)]++
				total++
				word = word[:0]
			}
			i += n
		}
		if len(word) > 0 {
			counts[string(word)]++
			total++
			word = word[:0]
		}
	}
	if err := sc.Err(); err != nil {
		panic(err)
	}
	return counts, total
}

func main() {
	reps, _ := strconv.Atoi(os.Args[2])
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		counts, total := count(os.Args[1])
		ms := float64(time.Since(t0).Microseconds()) / 1000
		fmt.Printf("ms %.3f words %d distinct %d\n", ms, total, len(counts))
	}
}
