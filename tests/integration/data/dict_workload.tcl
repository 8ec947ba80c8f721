# Dict/list/string-heavy Tcl workload for tests/integration/programs_test.sh; prints deterministic results.
set seed 777
proc next_random {} {
  global seed
  set seed [expr {($seed * 1103515245 + 12345) % 2147483648}]
  return $seed
}
set counts [dict create]
set items {}
for {set i 0} {$i < 60000} {incr i} {
  set r [next_random]
  set word [string repeat [format %c [expr {97 + $r % 26}]] [expr {1 + $r % 9}]]
  dict incr counts $word
  lappend items "$i-$word"
}
set total 0
foreach key [lsort [dict keys $counts]] { set total [expr {($total * 31 + [dict get $counts $key]) % 1000000007}] }
puts "[dict size $counts] $total"
set sorted [lsort -dictionary $items]
puts "[llength $sorted] [lindex $sorted 0] [lindex $sorted end]"
set joined [join $items ,]
set mapped [string map {a A e E i I} $joined]
puts "[string length $joined] [string length $mapped] [regexp -all {A+} $mapped]"
set matrix {}
for {set i 0} {$i < 200} {incr i} {
  set row {}
  for {set j 0} {$j < 200} {incr j} { lappend row [expr {($i * $j) % 13}] }
  lappend matrix $row
}
set sum 0
foreach row $matrix { foreach v $row { incr sum $v } }
puts $sum
