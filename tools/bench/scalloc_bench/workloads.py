# The workload table: which binary each suite entry runs, with which extra arguments, and whether it runs at
# every requested thread count or single-threaded only.
import dataclasses
import pathlib

BENCH_DIR = pathlib.Path(__file__).resolve().parents[1]  # tools/bench

# One source file per binary (bench_<source>), and the headers they include.
SOURCES = [
    "acdc", "cache_scratch", "cache_thrash", "frag", "large_churn", "larson", "malloc_loop", "prodcons",
    "realloc_large", "shbench", "thread_churn", "threadtest", "trace_replay",
]
HEADERS = ["bench_common.h", "false_sharing.h"]


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    source: str
    args: tuple = ()        # extra arguments after --threads/--quick
    scalable: bool = True   # False: run at one thread only, whatever --threads says
    description: str = ""

    @property
    def binary(self):
        return "bench_" + self.source


WORKLOADS = [
    Workload("threadtest", "threadtest", description="per-thread batches of 8-byte objects (Hoard)"),
    Workload("larson", "larson", description="slot churn, blocks handed to new threads (Larson)"),
    Workload("prodcons", "prodcons", description="producers allocate, consumers free"),
    Workload("shbench", "shbench", description="mixed sizes and lifetimes (shbench style)"),
    Workload("cache_scratch", "cache_scratch", description="passive false sharing (Hoard)"),
    Workload("cache_thrash", "cache_thrash", description="active false sharing (Hoard)"),
    Workload("acdc", "acdc", description="size/lifetime distributions, shared objects (ACDC style)"),
    Workload("thread_churn", "thread_churn",
             description="short-lived threads, size mix up to 2.5 MiB, blocks swapped between threads (mstress style)"),
    Workload("frag", "frag", scalable=False, description="fill, free 90%, refill with other sizes"),
    Workload("realloc_large", "realloc_large", scalable=False, description="realloc growth 1 -> 64 MiB"),
    Workload("large_churn", "large_churn", scalable=False,
             description="random slots of 5..25 MiB blocks replaced, ends written (malloc-large)"),
    Workload("large_churn_touch", "large_churn",
             ("--touch", "--slots", "4", "--min-kib", "1024", "--max-kib", "4096", "--replacements", "1000"),
             scalable=False, description="large_churn with 1..4 MiB blocks, every page written"),
    Workload("trace_replay", "trace_replay", scalable=False,
             description="replay of a text allocation trace"),
    Workload("malloc_loop", "malloc_loop", scalable=False,
             description="malloc/free pairs, sizes 16..32768"),
    Workload("malloc_loop_live", "malloc_loop", ("--live", "64"), scalable=False,
             description="malloc_loop with 64 live blocks in a ring"),
]

BY_NAME = {w.name: w for w in WORKLOADS}


def select(names):
    """Workloads named in `names` (empty: all) in table order; ValueError for unknown names."""
    if not names:
        return list(WORKLOADS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown workload(s): {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return [w for w in WORKLOADS if w.name in names]


def configurations(workloads, thread_counts):
    """(workload, threads) pairs in run order: scalable workloads at each count, others at one thread."""
    pairs = []
    for workload in workloads:
        for threads in (thread_counts if workload.scalable else [1]):
            pairs.append((workload, threads))
    return pairs
