# Instructions per malloc/free pair under `valgrind --tool=callgrind`: hardware counters are not available
# on our machines, and instruction counts are reproducible where wall time is not.
import json
import os
import subprocess
import tempfile

from scalloc_bench import allocators as allocators_lib

BASELINE = "jemalloc"


def total_instructions(cmd, env, timeout_s):
    """Total Ir of one callgrind run of cmd; raises RuntimeError with valgrind's complaint on failure."""
    with tempfile.TemporaryDirectory(prefix="scalloc-callgrind-") as scratch:
        profile = os.path.join(scratch, "callgrind.out")
        full = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}"] + cmd
        result = subprocess.run(full, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout_s, check=False)
        if result.returncode != 0 or not os.path.exists(profile):
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"exit status {result.returncode}: {tail}")
        with open(profile, encoding="utf-8", errors="replace") as data:
            for line in data:
                # "summary:" in older callgrind output files, "totals:" in newer ones; Ir is the first event.
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError("no summary/totals line in the callgrind output")


def per_pair(binary, allocator, size, iterations, timeout_s):
    """(Ir(N) - Ir(N/2)) / (N - N/2): process start-up and the first-touch slow paths cancel out."""
    env = allocators_lib.child_env(allocator)
    half = iterations // 2
    counts = []
    for n in (iterations, half):
        counts.append(total_instructions([binary, "--size", str(size), "--iters", str(n)], env, timeout_s))
    return (counts[0] - counts[1]) / (iterations - half), counts


def measure_all(binary, allocators, sizes, iterations, timeout_s, progress):
    """{allocator: {size: instructions per pair}} plus error lines for the runs that failed."""
    results, errors = {}, []
    for allocator in allocators:
        results[allocator.name] = {}
        for size in sizes:
            progress.step(f"callgrind malloc_loop --size {size} {allocator.name}")
            try:
                value, counts = per_pair(binary, allocator, size, iterations, timeout_s)
                results[allocator.name][size] = {"ir_per_pair": value, "ir_totals": counts}
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                message = f"error: callgrind {allocator.name} size {size}: {error}"
                errors.append(message)
                progress.note(message)
    return results, errors


def format_table(results, sizes, iterations):
    names = list(results)
    base = BASELINE if BASELINE in names else (names[0] if names else None)
    lines = ["Instructions per malloc/free pair (callgrind Ir, (Ir(N) - Ir(N/2)) / (N/2), "
             f"N = {iterations}), ratio vs {base}:", ""]
    lines.append(f"{'allocator':<18}" + "".join(f" | {'size ' + str(s):>18}" for s in sizes))
    lines.append("-" * len(lines[-1]))
    for name in names:
        cells = ""
        for size in sizes:
            entry = results[name].get(size)
            base_entry = results.get(base, {}).get(size)
            if entry is None:
                cells += f" | {'failed':>18}"
                continue
            value = entry["ir_per_pair"]
            base_value = base_entry["ir_per_pair"] if base_entry else 0
            ratio = f"({value / base_value:.2f}x)" if base_value else ""
            cells += f" | {value:9.1f} {ratio:>8}"
        lines.append(f"{name:<18}" + cells)
    return "\n".join(lines)


def write_json(path, meta, results, errors):
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"meta": meta, "results": results, "errors": errors}, out, indent=2)
        out.write("\n")
