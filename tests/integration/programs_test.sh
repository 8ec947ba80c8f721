#!/usr/bin/env bash
# Well-known programs under the scalloc preload libraries, each compared with its system-malloc run: perl,
# git (on a scratch repository with fixed dates), gcc/g++ compiling and running small programs, sqlite3,
# tclsh, ghostscript, node with worker threads, and xz compressing with two threads. A program that is not
# installed prints SKIP and does not count.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- perl
perl_hashes() {
  perl "$IT_DATA/hash_workload.pl"
}

perl_regex_sort() {
  seq 1 100000 | perl -ne 'chomp; my $k = reverse($_ * 7); $h{$k} = length($_) . "x" x ($_ % 13);
    END { my @k = sort { $h{$a} cmp $h{$b} or $a <=> $b } keys %h; print scalar(@k), " @k[0..4] $k[-1]\n" }'
}

# --- git (scratch repository built once with the system malloc)
make_git_repo() {
  local repo="$IT_WORK/repo"
  mkdir -p "$repo"
  (
    cd "$repo" || exit 1
    export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.com
    export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@example.com
    git init -q -b main .
    for i in $(seq 1 30); do
      export GIT_AUTHOR_DATE="2015-10-$((i % 28 + 1))T12:00:00Z" GIT_COMMITTER_DATE="2015-10-$((i % 28 + 1))T12:00:00Z"
      seq "$i" 3 3000 | awk -v i="$i" '{ print "line " $1 * i }' >"file$((i % 5)).txt"
      printf 'commit %d\n' "$i" >>log.txt
      git add -A
      git commit -q -m "change $i" -m "$(seq 1 "$i" | tr '\n' ' ')"
    done
  ) >"$IT_WORK/git_setup.log" 2>&1
}

git_commands() {
  cd "$IT_WORK/repo" || return 1
  git --version
  git log --stat --format='%H %an %ad %s' --date=iso-strict
  git diff HEAD~10 HEAD | md5sum
  git grep -c 'line 1'
  git blame -s log.txt | tail -n 5
  git rev-list --count HEAD
  git show HEAD~5:file2.txt | wc -l
  git cat-file --batch-check --batch-all-objects | sort | md5sum
}

# --- gcc / g++ (the compiler and its subprocesses cc1, as, ld run preloaded)
gcc_compile_and_run() {
  local dir
  dir="$(mktemp -d "$IT_WORK/gcc.XXXXXX")"
  gcc -O2 -S -o - "$IT_DATA/small_program.c" | grep -v '^\s*\.ident' | md5sum
  gcc -O2 -Wall -o "$dir/small_program" "$IT_DATA/small_program.c" && "$dir/small_program"
  rm -rf "$dir"
}

gxx_compile_and_run() {
  local dir
  dir="$(mktemp -d "$IT_WORK/gxx.XXXXXX")"
  g++ -std=c++17 -O1 -o "$dir/templates" "$IT_DATA/templates.cc" && "$dir/templates"
  rm -rf "$dir"
}

# --- sqlite3 and tclsh
sqlite_queries() {
  sqlite3 :memory: <"$IT_DATA/queries.sql"
}

tcl_dicts() {
  tclsh "$IT_DATA/dict_workload.tcl"
}

# --- ghostscript (mimalloc-bench's gs workload, on a drawing of our own): the rendered pages must be identical
gs_render() {
  gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=ppmraw -r72 -o - "$IT_DATA/drawing_workload.ps" | md5sum
}

node_workers() {
  node "$IT_DATA/node_workload.js"
}

# Two compression threads, each with blocks of several MiB in flight: large objects allocated and freed by
# different threads. The input is generated (the same bytes every run), the output compared by digest.
xz_threads() {
  seq 1 400000 | awk '{ print $1 * 7919 % 100003, "line", $1 % 977 }' >"$IT_WORK/xz_input.txt"
  xz -T2 --block-size=1MiB -6 -c "$IT_WORK/xz_input.txt" | md5sum
  xz -T2 --block-size=1MiB -6 -c "$IT_WORK/xz_input.txt" | xz -T2 -d -c | md5sum
}

export -f perl_hashes perl_regex_sort git_commands gcc_compile_and_run gxx_compile_and_run sqlite_queries tcl_dicts
export -f gs_render node_workers xz_threads

it_check_preload_active

if it_have perl; then
  it_compare perl_hashes perl_hashes
  it_compare perl_regex_sort perl_regex_sort
else
  it_skip perl "not installed"
fi

if it_have git; then
  if make_git_repo; then
    it_compare git_commands git_commands
  else
    it_fail git_commands "could not create the scratch repository"
    cat "$IT_WORK/git_setup.log" >&2
  fi
else
  it_skip git "not installed"
fi

if it_have gcc; then
  it_compare gcc_compile_and_run gcc_compile_and_run
else
  it_skip gcc "not installed"
fi

if it_have g++; then
  it_compare gxx_compile_and_run gxx_compile_and_run
else
  it_skip g++ "not installed"
fi

if it_have sqlite3; then
  it_compare sqlite_queries sqlite_queries
else
  it_skip sqlite3 "not installed"
fi

if it_have tclsh; then
  it_compare tcl_dicts tcl_dicts
else
  it_skip tclsh "not installed"
fi

if it_have gs; then
  it_compare gs_render gs_render
else
  it_skip gs "not installed"
fi

if it_have node; then
  it_compare node_workers node_workers
else
  it_skip node "not installed"
fi

if it_have xz; then
  it_compare xz_threads xz_threads
else
  it_skip xz "not installed"
fi

it_finish
