# The fuzzer trace format in Python: an encoder (seed corpora, the recorder's converter) and a decoder that prints
# a trace as text. Mirrors fuzzers/support/op_stream.h; fuzzers/README.md is the specification.
"""Encode and decode scalloc fuzzer traces."""

NUM_SLOTS = 64
NUM_THREADS = 4
NUM_ALIGNMENT_LOGS = 23
MAX_SMALL_SIZE = 1 << 20
SIZE_MAX = (1 << 64) - 1
PTRDIFF_MAX = (1 << 63) - 1

# First byte of each opcode range (op_stream.h, KindOfOpcode).
OPCODES = [
    (0x00, "malloc"),
    (0x30, "calloc"),
    (0x40, "realloc"),
    (0x60, "memalign"),
    (0x68, "posix_memalign"),
    (0x70, "aligned_alloc"),
    (0x78, "free"),
    (0xA8, "free_sized"),
    (0xB8, "fill"),
    (0xD0, "check"),
    (0xE0, "usable_size"),
    (0xE8, "switch_thread"),
    (0xF4, "flush_thread"),
    (0xF6, "trim"),
    (0xF8, "misuse"),
]
OPCODE = dict((name, code) for code, name in OPCODES)

MISUSE_KINDS = [
    "double_free",
    "interior_free",
    "misaligned_free",
    "foreign_free",
    "wild_arena_free",
    "wrong_size_free",
    "free_list_overwrite",
    "realloc_interior",
    "usable_size_interior",
]
MISUSE = dict((name, index) for index, name in enumerate(MISUSE_KINDS))

# Config byte, bits 0-2: reuse threshold (None: the build default).
REUSE_THRESHOLDS = [None, 0, 100, 50, 10, 90, 1, 99]
CONFIG_NO_SPAN_CACHE = 0x08
CONFIG_ZERO_ON_FREE = 0x10
CONFIG_OPTIONS_TEXT = 0x20
CONFIG_NO_LARGE_CACHE = 0x40

EDGE_SIZES = [0, 1 << 20, (1 << 20) + 1, (1 << 20) + 4096, 2 << 20, (2 << 20) + 1, 4096, 4097]


def spec_class_size(cls):
    """Block size of size class `cls` by the design's spacing (op_stream.h, SpecClassSize)."""
    if cls < 16:
        return (cls + 1) * 16
    doubling, step = divmod(cls - 16, 8)
    base = 256 << doubling
    return base + (step + 1) * (base // 8)


NUM_CLASSES = 16 + 8 * 12


def config_byte(reuse_threshold=None, no_span_cache=False, zero_on_free=False, options_text=False,
                no_large_cache=False):
    value = REUSE_THRESHOLDS.index(reuse_threshold)
    if no_large_cache:
        value |= CONFIG_NO_LARGE_CACHE
    if no_span_cache:
        value |= CONFIG_NO_SPAN_CACHE
    if zero_on_free:
        value |= CONFIG_ZERO_ON_FREE
    if options_text:
        value |= CONFIG_OPTIONS_TEXT
    return value


def encode_size(size):
    """The shortest size field that decodes to exactly `size` (0 <= size < 2**64)."""
    if not 0 <= size <= SIZE_MAX:
        raise ValueError(f"size out of range: {size}")
    if size < 0x80:
        return bytes([size])
    if size < 0x4000:
        return bytes([0x80 | (size >> 8), size & 0xFF])
    if size < MAX_SMALL_SIZE:
        return bytes([0xC0 | (size >> 16)]) + (size & 0xFFFF).to_bytes(2, "little")
    if MAX_SMALL_SIZE < size <= 4 * MAX_SMALL_SIZE:
        return bytes([0xF0]) + (size - MAX_SMALL_SIZE - 1).to_bytes(3, "little")
    if size < 1 << 32:
        return bytes([0xF8]) + size.to_bytes(4, "little")
    return bytes([0xF9]) + size.to_bytes(8, "little")


def alignment_log(alignment):
    """The alignment field for a power of two (others round up); capped at 2**22."""
    log = max(alignment - 1, 0).bit_length()
    return min(log, NUM_ALIGNMENT_LOGS - 1)


class TraceWriter:
    """Builds a trace op by op; bytes() returns it."""

    def __init__(self, config=0):
        self.out = bytearray([config & 0xFF])

    def bytes(self):
        return bytes(self.out)

    def _op(self, name, *fields):
        self.out.append(OPCODE[name])
        for field in fields:
            if isinstance(field, (bytes, bytearray)):
                self.out += field
            else:
                self.out.append(field & 0xFF)
        return self

    def malloc(self, slot, size):
        return self._op("malloc", slot, encode_size(size))

    def calloc(self, slot, count, size):
        if count >= 0xF0:  # not representable: same total as one element
            count, size = 1, count * size
            if size > SIZE_MAX:
                return self._op("calloc", slot, 0xF0, encode_size(2))  # SIZE_MAX * 2 overflows too
        return self._op("calloc", slot, count, encode_size(size))

    def calloc_overflow(self, slot, shift, size):
        """calloc(SIZE_MAX >> shift, size): overflows for most sizes."""
        return self._op("calloc", slot, 0xF0 + (shift & 15), encode_size(size))

    def realloc(self, slot, size):
        return self._op("realloc", slot, encode_size(size))

    def memalign(self, slot, alignment, size, flavour="memalign"):
        return self._op(flavour, slot, alignment_log(alignment), encode_size(size))

    def free(self, slot):
        return self._op("free", slot)

    def free_sized(self, slot):
        return self._op("free_sized", slot)

    def fill(self, slot, offset_fraction=0, length_fraction=0xFFFF, seed=0x5A):
        return self._op("fill", slot, (offset_fraction & 0xFFFF).to_bytes(2, "little"),
                        (length_fraction & 0xFFFF).to_bytes(2, "little"), seed)

    def check(self, slot):
        return self._op("check", slot)

    def usable_size(self, slot):
        return self._op("usable_size", slot)

    def switch_thread(self, thread):
        return self._op("switch_thread", thread % NUM_THREADS)

    def flush_thread(self):
        return self._op("flush_thread")

    def trim(self):
        return self._op("trim")

    def misuse(self, kind, slot, arg=0):
        return self._op("misuse", MISUSE[kind], slot, arg)

    def raw(self, data):
        self.out += data
        return self


def _decode_size(data, i):
    t = data[i]
    i += 1

    def take(n):
        if i + n > len(data):
            raise IndexError
        return int.from_bytes(data[i:i + n], "little"), i + n

    if t < 0x80:
        return t, i
    if t < 0xC0:
        v, i = take(1)
        return ((t & 0x3F) << 8) | v, i
    if t < 0xF0:
        v, i = take(2)
        return (((t - 0xC0) & 15) << 16) | v, i
    if t < 0xF8:
        v, i = take(3)
        return MAX_SMALL_SIZE + 1 + v % (3 * MAX_SMALL_SIZE), i
    if t == 0xF8:
        return take(4)
    if t == 0xF9:
        return take(8)
    if t == 0xFA:
        v, i = take(1)
        return spec_class_size((v >> 1) % NUM_CLASSES) + (v & 1), i
    if t == 0xFB:
        v, i = take(1)
        return EDGE_SIZES[v % 8], i
    if t == 0xFC:
        v, i = take(1)
        return SIZE_MAX - v, i
    if t == 0xFD:
        v, i = take(1)
        return PTRDIFF_MAX + 1 + v, i
    return (0 if t == 0xFE else 16), i


def _kind(code):
    name = OPCODES[0][1]
    for first, candidate in OPCODES:
        if code >= first:
            name = candidate
    return name


def decode(data):
    """Returns (config dict, list of op tuples) as the C++ decoder sees the trace."""
    ops = []
    if not data:
        return {}, ops
    config = {
        "reuse_threshold": REUSE_THRESHOLDS[data[0] & 7],
        "no_span_cache": bool(data[0] & CONFIG_NO_SPAN_CACHE),
        "zero_on_free": bool(data[0] & CONFIG_ZERO_ON_FREE),
        "options_text": bool(data[0] & CONFIG_OPTIONS_TEXT),
        "no_large_cache": bool(data[0] & CONFIG_NO_LARGE_CACHE),
    }
    i = 1
    try:
        while i < len(data):
            name = _kind(data[i])
            i += 1
            if name in ("malloc", "realloc"):
                slot = data[i] % NUM_SLOTS
                size, i = _decode_size(data, i + 1)
                ops.append((name, slot, size))
            elif name == "calloc":
                slot, count = data[i] % NUM_SLOTS, data[i + 1]
                count = count if count < 0xF0 else SIZE_MAX >> (count - 0xF0)
                size, i = _decode_size(data, i + 2)
                ops.append((name, slot, count, size))
            elif name in ("memalign", "posix_memalign", "aligned_alloc"):
                slot, alignment = data[i] % NUM_SLOTS, 1 << (data[i + 1] % NUM_ALIGNMENT_LOGS)
                size, i = _decode_size(data, i + 2)
                ops.append((name, slot, alignment, size))
            elif name in ("free", "free_sized", "check", "usable_size"):
                ops.append((name, data[i] % NUM_SLOTS))
                i += 1
            elif name == "fill":
                if i + 6 > len(data):
                    raise IndexError
                ops.append((name, data[i] % NUM_SLOTS, int.from_bytes(data[i + 1:i + 3], "little"),
                            int.from_bytes(data[i + 3:i + 5], "little"), data[i + 5]))
                i += 6
            elif name == "switch_thread":
                ops.append((name, data[i] % NUM_THREADS))
                i += 1
            elif name in ("flush_thread", "trim"):
                ops.append((name,))
            else:
                if i + 3 > len(data):
                    raise IndexError
                ops.append((name, MISUSE_KINDS[data[i] % len(MISUSE_KINDS)], data[i + 1] % NUM_SLOTS,
                            data[i + 2]))
                i += 3
    except IndexError:
        pass  # a truncated op ends the trace
    return config, ops


def format_trace(data):
    """Text listing of a trace, one op per line, numbered as the harnesses number them in failures."""
    config, ops = decode(data)
    lines = [f"config {config}"]
    for index, op in enumerate(ops):
        lines.append(f"#{index} " + " ".join(str(field) for field in op))
    return "\n".join(lines)
