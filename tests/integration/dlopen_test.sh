#!/usr/bin/env bash
# dlopen with RTLD_DEEPBIND under the preload libraries: a library opened that way would bind malloc and free to
# the C library's, so blocks crossing between it and the program would meet two allocators. The preload
# libraries drop the flag (src/api/dlopen_api.inc) unless SCALLOC_OPTIONS=keep_deepbind=1.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOST="$SCALLOC_OUT/deepbind_host"

# Blocks go both ways between a program and a plugin opened with RTLD_DEEPBIND by its bare name (its RUNPATH
# must still be searched: the C library's dlopen has to see the program as its caller).
it_compare deepbind_plugin "$HOST"

# The option keeps the flag: the plugin then binds to the C library's malloc (probe only, no crossing blocks).
for mode in "${IT_MODES[@]}"; do
  mode_name="${mode%%=*}" library="${mode#*=}"
  output="$(SCALLOC_OPTIONS=keep_deepbind=1 LD_PRELOAD="$library" "$HOST" --probe 2>&1)"
  if [[ "$output" == "plugin uses the process's malloc: no" ]]; then
    it_pass "keep_deepbind/$mode_name"
  else
    it_fail "keep_deepbind/$mode_name" "got: $output"
  fi
done

# PHP loads its extensions with RTLD_DEEPBIND: under any preloaded malloc that keeps the flag, it dies at start.
php_workload() {
  php "$IT_DATA/php_workload.php"
  php -r 'echo implode(" ", get_loaded_extensions()), "\n";'
}
export -f php_workload

if it_have php; then
  it_compare php_extensions php_workload
else
  it_skip php_extensions "php is not installed"
fi

it_finish
