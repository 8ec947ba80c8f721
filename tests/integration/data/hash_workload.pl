# Hash/array/string-heavy Perl workload for tests/integration/programs_test.sh; prints deterministic results.
use strict;
use warnings;

my %words;
my @lines;
my $seed = 4242;
for my $i (1 .. 120000) {
  $seed = ($seed * 1103515245 + 12345) % 2147483648;
  my $len = 1 + $seed % 14;
  my $word = join('', map { chr(97 + ($seed >> $_) % 26) } 0 .. $len - 1);
  $words{$word} .= chr(65 + $i % 26);
  push @lines, "$i:$word" if $i % 3 == 0;
}
my $sum = 0;
for my $key (sort keys %words) {
  $sum = ($sum * 31 + length($words{$key}) + ord($key)) % 1000000007;
}
print scalar(keys %words), " $sum\n";

my @sorted = sort { length($a) <=> length($b) or $a cmp $b } @lines;
print scalar(@sorted), " $sorted[0] $sorted[-1]\n";

my $text = join(' ', @lines);
my $vowels = () = $text =~ /[aeiou]/g;
(my $swapped = $text) =~ s/(\d+):(\w+)/$2=$1/g;
print length($text), " $vowels ", length($swapped), "\n";

my %nested;
for my $i (0 .. 50000) {
  push @{ $nested{ $i % 101 }{ $i % 7 } }, $i;
}
my $total = 0;
for my $outer (keys %nested) {
  for my $inner (keys %{ $nested{$outer} }) { $total += scalar(@{ $nested{$outer}{$inner} }) * ($outer + $inner); }
}
delete $nested{$_} for grep { $_ % 2 } keys %nested;
print "$total ", scalar(keys %nested), "\n";
