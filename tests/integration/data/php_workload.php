<?php
// Arrays, strings, sorting, JSON and regular expressions: PHP's allocator takes big chunks from malloc, its
// extensions and the runtime allocate through malloc directly. Prints a deterministic digest.
$a = [];
for ($i = 0; $i < 200000; $i++) {
  $a[$i % 20000] = str_repeat("p", $i % 300) . $i;
}
$b = array_map("strrev", $a);
sort($b);
$j = json_encode(array_slice($b, 0, 5000));
$d = json_decode($j, true);
$words = preg_split("/[0-9]+/", implode(",", array_slice($a, 0, 3000)), -1, PREG_SPLIT_NO_EMPTY);
$h = [];
foreach ($a as $k => $v) {
  $h[md5($v)] = strlen($v) + $k;
}
ksort($h);
echo count($a), " ", strlen($j), " ", count($d), " ", count($words), " ", md5(implode("", $d)), " ",
  array_sum($h), "\n";
