# Writes the deterministic synthetic trace the suite replays when no --trace file is given (format: see
# docs/benchmarks.md). The same seed gives the same file, so trace_replay checksums stay comparable.
import random

# (share of requests, smallest, largest): mostly small blocks, a tail of large ones.
_SIZES = [(0.60, 8, 128), (0.30, 129, 1024), (0.08, 1025, 16384), (0.02, 16385, 262144)]
_ALIGNMENTS = [16, 32, 64, 128, 4096]


def _size(rng):
    pick = rng.random()
    for share, low, high in _SIZES:
        if pick < share:
            return rng.randint(low, high)
        pick -= share
    return rng.randint(_SIZES[-1][1], _SIZES[-1][2])


def write(path, ops=200000, target_live=5000, seed=20151025):
    """Writes `ops` trace lines to `path`; the live set hovers around `target_live` blocks."""
    rng = random.Random(seed)
    live = []       # ids currently allocated
    free_ids = []   # ids to reuse, so the id table stays dense
    next_id = 0
    lines = ["# synthetic trace written by tools/bench/scalloc_bench/synthetic_trace.py (seed %d)" % seed]
    for _ in range(ops):
        pick = rng.random()
        allocate = not live or pick < 0.5 * target_live / max(len(live), 1)
        if allocate:
            if free_ids:
                block = free_ids.pop()
            else:
                block, next_id = next_id, next_id + 1
            kind = rng.random()
            if kind < 0.85:
                lines.append(f"m {block} {_size(rng)}")
            elif kind < 0.93:
                size = _size(rng)
                count = rng.choice([1, 2, 4, 8])
                lines.append(f"c {block} {count} {max(1, size // count)}")
            else:
                lines.append(f"a {block} {rng.choice(_ALIGNMENTS)} {_size(rng)}")
            live.append(block)
        elif pick < 0.9:
            index = rng.randrange(len(live))
            live[index], live[-1] = live[-1], live[index]
            block = live.pop()
            lines.append(f"f {block}")
            free_ids.append(block)
        else:
            lines.append(f"r {rng.choice(live)} {_size(rng)}")
    with open(path, "w", encoding="ascii") as out:
        out.write("\n".join(lines) + "\n")
    return path
