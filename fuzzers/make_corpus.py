#!/usr/bin/env python3
# Writes the seed corpora (fuzzers/corpus/<fuzzer>/) and dictionaries (fuzzers/<fuzzer>.dict): hand-made traces
# that reach each feature (size-class edges, aligned and large objects, remote frees, thread exit, span churn,
# every kind of injected misuse) plus a few random ones. Deterministic; rerun after changing the trace format.
"""Generate the fuzzers' seed corpora and dictionaries."""

import argparse
import hashlib
import pathlib
import random
import struct
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import trace_format as tf  # noqa: E402  (needs the path entry above)

FUZZERS_DIR = pathlib.Path(__file__).resolve().parent
TRACE_FUZZERS = ["differential_fuzzer", "allocator_fuzzer_fast", "allocator_fuzzer_hardened", "misuse_fuzzer"]


def class_edges():
    """Every class size and one byte more, plus the large-object edges."""
    sizes = []
    for cls in range(tf.NUM_CLASSES):
        sizes += [tf.spec_class_size(cls), tf.spec_class_size(cls) + 1]
    return sizes + [tf.MAX_SMALL_SIZE + 1, 2 << 20, (4 << 20) - 1]


def random_size(rng):
    """The decoder's bias in miniature: mostly small, sometimes medium, rarely large."""
    roll = rng.random()
    if roll < 0.6:
        return rng.randrange(0, 257)
    if roll < 0.85:
        return rng.randrange(257, 16384)
    if roll < 0.97:
        return rng.randrange(16384, tf.MAX_SMALL_SIZE + 1)
    return rng.randrange(tf.MAX_SMALL_SIZE + 1, 4 << 20)


# --- trace seeds (shared by the four trace fuzzers) -----------------------------------------------------------


def seed_fine_classes():
    w = tf.TraceWriter()
    for slot, size in enumerate(range(0, 257, 8)):
        w.malloc(slot % tf.NUM_SLOTS, size).fill(slot % tf.NUM_SLOTS, seed=slot)
    for slot in range(33):
        w.check(slot).usable_size(slot).free(slot)
    return w


def seed_class_edges(part, parts):
    w = tf.TraceWriter()
    edges = class_edges()
    for i, size in enumerate(edges[part::parts]):
        slot = i % 32
        w.malloc(slot, size).fill(slot, 0, 0xFFFF, i).usable_size(slot).check(slot).free_sized(slot)
    return w


def seed_calloc():
    w = tf.TraceWriter()
    w.calloc(0, 0, 16).calloc(1, 7, 9).calloc(2, 16, 4096).calloc(3, 1, (1 << 20) + 5).calloc(4, 200, 100)
    w.calloc_overflow(5, 0, 2).calloc_overflow(6, 1, 3).calloc_overflow(7, 0, 0)
    for slot in range(8):
        w.check(slot).fill(slot, 0x4000, 0x8000, slot).check(slot).free(slot)
    # A recycled block must come back zeroed.
    w.malloc(8, 48).fill(8, seed=0xFF).free(8).calloc(8, 3, 16).check(8).free(8)
    return w


def seed_realloc_chain():
    w = tf.TraceWriter()
    sizes = [1, 16, 17, 100, 300, 4000, 70000, (1 << 20), (1 << 20) + 1, 3 << 20, 40000, 24, 0]
    w.malloc(0, 8).fill(0, seed=1)
    for i, size in enumerate(sizes):
        w.realloc(0, size).check(0).fill(0, 0, 0xFFFF, i + 2).usable_size(0)
    w.realloc(1, 33).realloc(1, 20).realloc(1, 17).check(1).free_sized(1)
    return w


def seed_realloc_in_place():
    w = tf.TraceWriter()
    w.malloc(0, 1000).fill(0, seed=3)
    for size in (900, 600, 520, 513, 512, 1024, 1152):  # keeps the block while more than half is used
        w.realloc(0, size).check(0).free_sized(0).malloc(0, 1000).fill(0, seed=size & 0xFF)
    return w


def seed_aligned():
    w = tf.TraceWriter()
    flavours = ["memalign", "posix_memalign", "aligned_alloc"]
    slot = 0
    for log in range(tf.NUM_ALIGNMENT_LOGS):
        for size in (0, 1, 100, 5000):
            w.memalign(slot, 1 << log, size, flavours[slot % 3]).fill(slot, seed=slot).check(slot)
            slot = (slot + 1) % tf.NUM_SLOTS
            if slot % 8 == 0:
                for s in range(slot - 8, slot):
                    w.free_sized(s % tf.NUM_SLOTS)
    return w


def seed_large():
    w = tf.TraceWriter()
    w.malloc(0, (1 << 20) + 1).fill(0, seed=7).malloc(1, 2 << 20).fill(1, 0x8000, 0x4000, 8)
    w.realloc(0, 3 << 20).check(0).realloc(0, (1 << 20) + 4096).check(0).realloc(0, 5000).check(0)
    w.memalign(2, 4 << 20, 100).fill(2).memalign(3, 2 << 20, (1 << 20) + 10).fill(3)
    w.free_sized(0).free_sized(1).free_sized(2).free(3)
    return w


def seed_failures():
    w = tf.TraceWriter()
    w.raw(bytes([tf.OPCODE["malloc"], 0, 0xFC, 0]))  # SIZE_MAX
    w.raw(bytes([tf.OPCODE["malloc"], 1, 0xFD, 3]))  # PTRDIFF_MAX + 4
    w.malloc(2, 64).fill(2).raw(bytes([tf.OPCODE["realloc"], 2, 0xFC, 9])).check(2)
    w.raw(bytes([tf.OPCODE["memalign"], 3, 12, 0xFD, 0]))
    w.calloc_overflow(4, 2, 8).usable_size(4).free(4).free(2)
    return w


def seed_remote_frees():
    w = tf.TraceWriter()
    for slot in range(48):
        w.malloc(slot, 16 + 16 * (slot % 6)).fill(slot, seed=slot)
    for thread in (1, 2, 3):
        w.switch_thread(thread)
        for slot in range(thread - 1, 48, 3):
            w.check(slot).free(slot)
    w.switch_thread(0)
    for slot in range(48):
        w.malloc(slot, 16 + 16 * (slot % 6))
    return w


def seed_thread_exit():
    w = tf.TraceWriter()
    w.switch_thread(1)
    for slot in range(20):
        w.malloc(slot, 32 * (slot + 1)).fill(slot, seed=slot)
    w.flush_thread().switch_thread(2)
    for slot in range(0, 20, 2):
        w.free(slot)
    w.flush_thread().switch_thread(0)
    for slot in range(1, 20, 2):
        w.free_sized(slot)
    w.switch_thread(1).malloc(0, 64).flush_thread()
    return w


def seed_span_churn(threshold, no_cache):
    w = tf.TraceWriter(tf.config_byte(threshold, no_span_cache=no_cache))
    for round_index in range(3):
        for slot in range(tf.NUM_SLOTS):
            w.malloc(slot, 2048)
        w.switch_thread(round_index + 1)
        for slot in range(0, tf.NUM_SLOTS, 1 + round_index):
            w.free(slot)
        w.switch_thread(0)
    w.flush_thread()
    return w


def seed_zero_on_free():
    w = tf.TraceWriter(tf.config_byte(50, zero_on_free=True))
    for slot in range(16):
        w.malloc(slot, 100).fill(slot, seed=slot)
    for slot in range(16):
        w.free(slot).malloc(slot, 90).fill(slot, 0, 0x7FFF, slot + 1)
    return w


def seed_trim(no_cache):
    """malloc_trim with spans of several classes cached, then reuse of the trimmed (decommitted) spans."""
    w = tf.TraceWriter(tf.config_byte(None, no_span_cache=no_cache))
    w.trim()  # nothing cached yet
    sizes = [32, 2048, 20000, 300000]
    for slot in range(40):
        w.malloc(slot, sizes[slot % 4]).fill(slot, seed=slot)
    for slot in range(40):
        w.free(slot)
    w.flush_thread().trim().trim()
    for slot in range(40):  # the same classes again: spans come back from the clean pool and are committed anew
        w.malloc(slot, sizes[(slot + 1) % 4]).fill(slot, seed=slot + 1)
    w.switch_thread(1)
    for slot in range(0, 40, 2):
        w.free(slot)
    w.switch_thread(0).trim().flush_thread().trim()
    return w


def seed_options_text():
    """Options given as text (and verbose start-up) with every setting the configuration byte can make."""
    w = tf.TraceWriter(tf.config_byte(10, no_span_cache=True, zero_on_free=True, options_text=True))
    for slot in range(8):
        w.malloc(slot, 24 * (slot + 1)).fill(slot, seed=slot)
    for slot in range(8):
        w.free(slot)
    return w


def seed_large_table():
    """Enough distinct large objects to grow the large-object table (it rehashes the live ones)."""
    w = tf.TraceWriter()
    # Sizes step by pages so the kernel cannot hand every new mapping the address the last one had.
    for i in range(150):
        slot = i % 16
        w.malloc(slot, (1 << 20) + 1 + 4096 * (i % 37))
        if i % 5 == 0:
            w.fill(slot, 0, 0x100, i)
    w.check(0)
    return w


def seed_random(rng, ops):
    w = tf.TraceWriter(rng.randrange(256))
    for _ in range(ops):
        roll = rng.random()
        slot = rng.randrange(tf.NUM_SLOTS)
        if roll < 0.3:
            w.malloc(slot, random_size(rng))
        elif roll < 0.35:
            w.calloc(slot, rng.randrange(1, 8), random_size(rng) // 4)
        elif roll < 0.45:
            w.realloc(slot, random_size(rng))
        elif roll < 0.5:
            w.memalign(slot, 1 << rng.randrange(tf.NUM_ALIGNMENT_LOGS), random_size(rng),
                       rng.choice(["memalign", "posix_memalign", "aligned_alloc"]))
        elif roll < 0.7:
            w.free(slot)
        elif roll < 0.75:
            w.free_sized(slot)
        elif roll < 0.85:
            w.fill(slot, rng.randrange(65536), rng.randrange(65536), rng.randrange(256))
        elif roll < 0.9:
            w.check(slot)
        elif roll < 0.97:
            w.switch_thread(rng.randrange(tf.NUM_THREADS))
        elif roll < 0.99:
            w.flush_thread()
        else:
            w.trim()
    return w


def trace_seeds():
    seeds = {
        "fine_classes": seed_fine_classes(),
        "calloc": seed_calloc(),
        "realloc_chain": seed_realloc_chain(),
        "realloc_in_place": seed_realloc_in_place(),
        "aligned": seed_aligned(),
        "large": seed_large(),
        "failures": seed_failures(),
        "remote_frees": seed_remote_frees(),
        "thread_exit": seed_thread_exit(),
        "zero_on_free": seed_zero_on_free(),
        "trim": seed_trim(False),
        "trim_no_cache": seed_trim(True),
        "options_text": seed_options_text(),
        "large_table": seed_large_table(),
    }
    for part in range(4):
        seeds[f"class_edges_{part}"] = seed_class_edges(part, 4)
    for threshold, no_cache in ((None, False), (0, True), (100, False), (10, True)):
        seeds[f"span_churn_{threshold}_{int(no_cache)}"] = seed_span_churn(threshold, no_cache)
    rng = random.Random(20150525)
    for i in range(8):
        seeds[f"random_{i}"] = seed_random(rng, 150 + 50 * i)
    return {name: w.bytes() for name, w in seeds.items()}


# --- misuse seeds ------------------------------------------------------------------------------------------------


def misuse_seeds():
    seeds = {}
    for kind in tf.MISUSE_KINDS:
        for variant in range(3):
            w = tf.TraceWriter()
            uses_stale = kind in ("double_free", "free_list_overwrite")
            size = [24, 3000, 200 if uses_stale else (1 << 20) + 100][variant]
            w.malloc(0, size).fill(0).malloc(1, size).free(1)  # slot 1 now has a stale pointer
            if variant == 1:
                w.switch_thread(2)  # the misuse happens on another thread
            w.misuse(kind, 1 if uses_stale else 0, variant * 85 + 1)
            if kind == "free_list_overwrite":
                w.switch_thread(0)
                for slot in range(2, 40):  # reuse the class until the overwritten link is decoded
                    w.malloc(slot, size if size < (1 << 20) else 64)
            w.check(0).free(0)
            seeds[f"{kind}_{variant}"] = w.bytes()
    # Double free once the block's span is empty and back in the pool (the LAB was handed back).
    w = tf.TraceWriter()
    w.malloc(0, 5000).malloc(1, 700).fill(1).free(1).flush_thread().misuse("double_free", 1, 0).free(0)
    seeds["double_free_retired_span"] = w.bytes()
    # realloc of a freed block to a size it still fits, its span kept in use by a live neighbour (argument 3).
    w = tf.TraceWriter()
    w.malloc(0, 64).malloc(1, 64).free(1).misuse("double_free", 1, 3).check(0).free(0)
    seeds["double_free_realloc_fits"] = w.bytes()
    # A use-after-free write over the link of a block on a span's remote list: reported when the owner claims the
    # list (first block bad: the whole list is dropped; a later block bad: the list is cut before it).
    for variant, first in (("head", 1), ("cut", 2)):
        w = tf.TraceWriter()
        for slot in range(16):  # 16 blocks of 4 KiB: the whole span, so the next allocation must claim remote frees
            w.malloc(slot, 4096)
        w.switch_thread(1).free(2).free(1).switch_thread(0)  # remote list: 1 -> 2
        w.misuse("free_list_overwrite", first, 0)
        for slot in range(16, 40):
            w.malloc(slot, 4096)
        seeds[f"free_list_overwrite_remote_{variant}"] = w.bytes()
    # Misuse mixed into ordinary traffic.
    rng = random.Random(7)
    for i in range(6):
        w = seed_random(rng, 200)
        for _ in range(10):
            w.misuse(rng.choice(tf.MISUSE_KINDS), rng.randrange(tf.NUM_SLOTS), rng.randrange(256))
        w.out += seed_random(rng, 100).bytes()[1:]
        seeds[f"mixed_{i}"] = w.bytes()
    return seeds


# --- component fuzzers -----------------------------------------------------------------------------------------


def size_class_seeds():
    seeds = {}
    edges = []
    for size in class_edges():
        for delta in (-1, 0, 1):
            if 0 <= size + delta <= tf.MAX_SMALL_SIZE:
                edges.append(size + delta)
    for part in range(6):
        data = bytearray()
        for i, size in enumerate(edges[part::6]):
            data += struct.pack("<IB", size, (i * 2) & 0xFE)  # selector bit 0 clear: full range
        seeds[f"edges_{part}"] = bytes(data)
    data = bytearray()
    for size in range(0, 1025, 7):
        data += struct.pack("<IB", size, 1 | ((size % 21) << 1))
    seeds["lookup_table"] = bytes(data)
    rng = random.Random(3)
    for i in range(4):
        seeds[f"random_{i}"] = bytes(rng.randrange(256) for _ in range(5 * 60))
    return seeds


def free_list_seeds():
    seeds = {}
    rng = random.Random(11)
    for i in range(8):
        data = bytearray(struct.pack("<Q", rng.getrandbits(64)))
        for _ in range(20):
            next_link = rng.choice([0, rng.getrandbits(64), 0x200000000 + 16 * rng.randrange(1 << 16)])
            data += struct.pack("<QQQBB", next_link, rng.getrandbits(64), rng.getrandbits(64), rng.randrange(256),
                                rng.randrange(256))
        seeds[f"random_{i}"] = bytes(data)
    return seeds


# --- dictionaries ----------------------------------------------------------------------------------------------


def trace_dictionary(with_misuse):
    entries = []

    def add(name, data):
        entries.append(f'{name}="' + "".join(f"\\x{b:02x}" for b in data) + '"')

    for name in ("malloc", "realloc", "free", "free_sized", "fill", "check"):
        add(f"op_{name}", bytes([tf.OPCODE[name]]))
    add("switch_thread_1", bytes([tf.OPCODE["switch_thread"], 1]))
    add("switch_thread_0", bytes([tf.OPCODE["switch_thread"], 0]))
    add("flush_thread", bytes([tf.OPCODE["flush_thread"]]))
    add("trim", bytes([tf.OPCODE["trim"]]))
    for index, size in enumerate(tf.EDGE_SIZES):
        add(f"size_edge_{size}", bytes([0xFB, index]))
    add("size_huge", bytes([0xFC, 0]))
    add("size_large", tf.encode_size(2 << 20))
    add("malloc_then_free", bytes([tf.OPCODE["malloc"], 0, 0x40, tf.OPCODE["free"], 0]))
    add("fill_whole", bytes([tf.OPCODE["fill"], 0, 0, 0, 0xFF, 0xFF, 0x5A]))
    if with_misuse:
        for kind in tf.MISUSE_KINDS:
            add(f"misuse_{kind}", bytes([tf.OPCODE["misuse"], tf.MISUSE[kind]]))
    return "# Generated by fuzzers/make_corpus.py: opcodes, size fields and short op sequences.\n" + \
        "\n".join(entries) + "\n"


def size_class_dictionary():
    lines = ["# Generated by fuzzers/make_corpus.py: class sizes as little-endian 32-bit values."]
    for cls in range(0, tf.NUM_CLASSES, 4):
        size = tf.spec_class_size(cls)
        lines.append(f'class_{cls}="' + "".join(f"\\x{b:02x}" for b in struct.pack("<I", size)) + '"')
    return "\n".join(lines) + "\n"


def write_corpus(name, seeds, clean):
    directory = FUZZERS_DIR / "corpus" / name
    directory.mkdir(parents=True, exist_ok=True)
    if clean:
        for old in directory.iterdir():
            if old.is_file() and old.name.startswith("seed_"):
                old.unlink()
    for label, data in sorted(seeds.items()):
        digest = hashlib.sha1(data).hexdigest()[:12]
        (directory / f"seed_{label}_{digest}").write_bytes(data)
    return len(seeds)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-clean", action="store_true", help="keep old seed_* files in the corpus directories")
    args = parser.parse_args(argv)
    traces = trace_seeds()
    total = 0
    for name in TRACE_FUZZERS:
        seeds = dict(traces)
        if name == "misuse_fuzzer":
            seeds.update(misuse_seeds())
        total += write_corpus(name, seeds, not args.no_clean)
        (FUZZERS_DIR / f"{name}.dict").write_text(trace_dictionary(name == "misuse_fuzzer"))
    total += write_corpus("size_class_fuzzer", size_class_seeds(), not args.no_clean)
    total += write_corpus("free_list_fuzzer", free_list_seeds(), not args.no_clean)
    (FUZZERS_DIR / "size_class_fuzzer.dict").write_text(size_class_dictionary())
    print(f"wrote {total} seeds under {FUZZERS_DIR / 'corpus'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
