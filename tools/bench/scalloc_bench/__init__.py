# The benchmark runner behind `tools/scalloc bench`: workload and allocator tables, the interleaved run
# loop, reports (table, JSON, CSV, gnuplot charts) and the callgrind instruction counts.
