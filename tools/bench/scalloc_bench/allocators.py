# Allocators under test and the library each one is preloaded from. glibc is the process's own malloc
# (nothing preloaded); the two scalloc libraries come from the release build.
import dataclasses
import os
import pathlib

# Where the peers' libraries are: Debian's multiarch directory, or SCALLOC_BENCH_PEER_DIR (a machine whose
# system lacks them can be given copies of Debian's files).
SYSTEM_LIB = pathlib.Path(os.environ.get("SCALLOC_BENCH_PEER_DIR", "/usr/lib/x86_64-linux-gnu"))
ORDER = ["glibc", "jemalloc", "tcmalloc", "mimalloc", "scalloc", "scalloc-hardened"]
# Ratios are taken against this allocator when it ran, otherwise against the first one that did.
BASELINE = "mimalloc"


@dataclasses.dataclass(frozen=True)
class Allocator:
    name: str
    preload: str  # "" for glibc


def library_for(name, release_dir):
    """The library to preload for `name` ("" for glibc), or None for a name this runner does not know."""
    return {
        "glibc": "",
        "jemalloc": str(SYSTEM_LIB / "libjemalloc.so.2"),
        "tcmalloc": str(SYSTEM_LIB / "libtcmalloc_minimal.so.4"),
        "mimalloc": str(SYSTEM_LIB / "libmimalloc.so.2"),
        "scalloc": str(pathlib.Path(release_dir) / "libscalloc.so"),
        "scalloc-hardened": str(pathlib.Path(release_dir) / "libscalloc_hardened.so"),
    }.get(name)


def resolve(names, release_dir):
    """Returns (allocators, notes): the available ones in the order asked and a note per skipped one."""
    allocators, notes = [], []
    for name in names:
        path = library_for(name, release_dir)
        if path is None:
            raise ValueError(f"unknown allocator {name!r} (known: {', '.join(ORDER)})")
        if path and not os.path.exists(path):
            notes.append(f"skipping {name}: {path} not found")
            continue
        allocators.append(Allocator(name, path))
    return allocators, notes


def child_env(allocator):
    """Our environment with LD_PRELOAD naming exactly the allocator under test (and nothing for glibc)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if allocator.preload:
        env["LD_PRELOAD"] = allocator.preload
    return env


def baseline(names):
    """The allocator the ratios are relative to, among `names`."""
    return BASELINE if BASELINE in names else (names[0] if names else None)
