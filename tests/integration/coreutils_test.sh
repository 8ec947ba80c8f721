#!/usr/bin/env bash
# Coreutils pipelines under the scalloc preload libraries (every program in the pipeline is preloaded):
# sort (also multithreaded), uniq, tr, wc, cut, join, sed and awk over generated text must give the same
# output as with the system malloc.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Input generated once with the system malloc: ~6 MB of pseudo-random words and CSV records.
generate_inputs() {
  awk 'BEGIN {
    seed = 12345
    split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau", w)
    for (line = 0; line < 60000; line++) {
      n = 3 + line % 17
      out = ""
      for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        word = w[1 + int(seed / 65536) % 19]
        if (seed % 7 == 0) word = toupper(word)
        if (seed % 11 == 0) word = word int(seed % 1000)
        out = out (i ? " " : "") word
      }
      print out
    }
  }' >"$IT_WORK/words.txt"
  awk 'BEGIN {
    for (i = 0; i < 40000; i++) {
      k = (i * 7919) % 40009
      printf "key%06d,%d,%s,%d\n", k, i, (i % 3 ? "red" : "blue"), (i * 31) % 1000
    }
  }' >"$IT_WORK/left.csv"
  awk 'BEGIN {
    for (i = 0; i < 30000; i++) {
      k = (i * 104729) % 40009
      printf "key%06d,%s,%d\n", k, (i % 5 ? "x" : "y"), i % 97
    }
  }' >"$IT_WORK/right.csv"
  seq 1 300000 | awk '{ printf "%d\n", ($1 * 2654435761) % 1000003 }' >"$IT_WORK/numbers.txt"
}

word_frequency() {
  tr -cs 'A-Za-z' '\n' <"$IT_WORK/words.txt" | tr 'A-Z' 'a-z' | sort | uniq -c | sort -k1,1nr -k2,2 | head -n 40
}

counts() {
  wc -l -w -c <"$IT_WORK/words.txt"
  cut -d' ' -f2,4 "$IT_WORK/words.txt" | sort -u | wc -l
}

csv_join() {
  sort -t, -k1,1 "$IT_WORK/left.csv" >"$IT_WORK/left.sorted.$$"
  sort -t, -k1,1 "$IT_WORK/right.csv" >"$IT_WORK/right.sorted.$$"
  join -t, "$IT_WORK/left.sorted.$$" "$IT_WORK/right.sorted.$$" | cut -d, -f1,3,5,6 | sort | md5sum
  join -t, -v1 "$IT_WORK/left.sorted.$$" "$IT_WORK/right.sorted.$$" | wc -l
  rm -f "$IT_WORK/left.sorted.$$" "$IT_WORK/right.sorted.$$"
}

sed_awk() {
  sed -e 's/[aeiou]/#/g' -e 's/\(ALPHA\|BETA\) \([a-z]*\)/\2 \1/g' "$IT_WORK/words.txt" |
    awk '{ words += NF; chars += length($0); for (i = 1; i <= NF; i++) seen[$i]++ }
         END { n = 0; for (k in seen) n++; print words, chars, n }'
  awk -F, '{ total[$3] += $4; count[$3]++ } END { for (c in total) print c, total[c], count[c] }' \
    "$IT_WORK/left.csv" | sort
}

parallel_sort() {
  # A large buffer and two sorting threads: big allocations and frees from several threads.
  sort -n --parallel=2 -S 64M "$IT_WORK/numbers.txt" | md5sum
  sort -r --parallel=2 -S 1M "$IT_WORK/words.txt" | md5sum
}

export -f word_frequency counts csv_join sed_awk parallel_sort

generate_inputs
it_check_preload_active
it_compare word_frequency word_frequency
it_compare counts counts
it_compare csv_join csv_join
it_compare sed_awk sed_awk
it_compare parallel_sort parallel_sort
it_finish
