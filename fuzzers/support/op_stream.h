// The trace format shared by the allocator fuzzers, the corpus generator and the recorder: decodes fuzzer bytes into
// allocation operations on a fixed set of slots. The byte-level specification is fuzzers/README.md; keep it and
// fuzzers/trace_format.py (the Python encoder/decoder) in sync with this file.
#ifndef SCALLOC_FUZZERS_SUPPORT_OP_STREAM_H_
#define SCALLOC_FUZZERS_SUPPORT_OP_STREAM_H_

#include <cstddef>
#include <cstdint>

#include "fuzzers/support/fuzz_check.h"

namespace scalloc::fuzzing {

// Live blocks are named by slot: small enough that random bytes often hit a live one, large enough to keep many
// spans and size classes busy at once.
inline constexpr size_t kNumSlots = 64;
// Thread 0 is the fuzzer's own thread; 1..3 are workers that run ops handed over synchronously.
inline constexpr unsigned kNumThreads = 4;
// Alignments are 2^0 .. 2^22 (4 MiB: above the largest size class, so aligned large objects are reached).
inline constexpr unsigned kNumAlignmentLogs = 23;

enum class OpKind : uint8_t {
  kMalloc,
  kCalloc,
  kRealloc,
  kMemalign,
  kPosixMemalign,
  kAlignedAlloc,
  kFree,
  kFreeSized,
  kFill,
  kCheck,
  kUsableSize,
  kSwitchThread,
  kFlushThread,
  kTrim,
  kMisuse,
};

// Injected client errors (misuse_fuzzer); the other harnesses run these as "check every live block".
enum class MisuseKind : uint8_t {
  kDoubleFree,          // free / free_sized / realloc(p, 0) of the slot's last freed pointer
  kInteriorFree,        // free of a pointer inside the slot's live block, on a 16-byte boundary
  kMisalignedFree,      // free of a live block's address plus 1..15
  kForeignFree,         // free of a stack, global or host-heap address
  kWildArenaFree,       // free of an address in a never-used span of the arena
  kWrongSizeFree,       // free_sized with a size that cannot belong to the block
  kFreeListOverwrite,   // write 8 bytes at the start of the slot's last freed block (use after free)
  kReallocInterior,     // realloc of an interior pointer
  kUsableSizeInterior,  // malloc_usable_size of an interior pointer
};
inline constexpr unsigned kNumMisuseKinds = 9;

// Options the trace's first byte selects for the allocator instances.
struct TraceConfig {
  int reuse_threshold = -1;     // percent; -1: the build's default
  bool no_span_cache = false;   // span_cache_mib=0: every empty span gives its memory back at once
  bool zero_on_free = false;    // hardened instances clear freed blocks
  bool options_text = false;    // the instances' options come from Options::Parse of an options string
  bool no_large_cache = false;  // large_cache_mib=0: every freed large object is unmapped at once
};

struct Op {
  OpKind kind = OpKind::kFree;
  uint8_t slot = 0;          // every op but kSwitchThread / kFlushThread / kTrim
  uint8_t thread = 0;        // kSwitchThread
  size_t size = 0;           // request bytes; calloc: element size
  size_t count = 0;          // calloc: element count
  size_t alignment = 0;      // aligned allocations: a power of two
  uint16_t fill_offset = 0;  // kFill: offset as a fraction of the usable size (x / 65536)
  uint16_t fill_length = 0;  // kFill: length as a fraction of the rest of the block
  uint8_t seed = 0;          // kFill: pattern seed
  MisuseKind misuse = MisuseKind::kDoubleFree;
  uint8_t arg = 0;  // kMisuse: variant / offset selector
};

// The size-class spacing from the design (16-byte steps to 256, then 8 classes per doubling up to 1 MiB),
// computed independently of src/core so harnesses can check the allocator against the specification.
constexpr size_t kSpecNumClasses = 16 + 8 * 12;
constexpr size_t kSpecMaxSmallSize = size_t{1} << 20;
constexpr size_t SpecClassSize(size_t cls) {
  if (cls < 16) return (cls + 1) * 16;
  size_t doubling = (cls - 16) / 8, step = (cls - 16) % 8;
  size_t base = size_t{256} << doubling;
  return base + (step + 1) * (base / 8);
}
// The usable size the specification promises for malloc(size), size <= PTRDIFF_MAX.
constexpr size_t SpecUsableSize(size_t size) {
  if (size <= 256) return size <= 16 ? 16 : (size + 15) / 16 * 16;
  if (size > kSpecMaxSmallSize) return (size + 4095) / 4096 * 4096;
  size_t base = 256;
  while (base * 2 < size) base *= 2;
  size_t step = base / 8;
  return (size + step - 1) / step * step;
}

// Fill contents: byte i of a block filled with `seed` is kPatternTable[i % 4096] ^ (i / 4096) ^ seed. It depends
// on the absolute offset (a prefix copied by realloc keeps matching), differs between neighbouring bytes and pages,
// and whole 4 KiB chunks are a table XOR one byte, so fills and checks of large blocks run at memcpy speed.
inline constexpr size_t kPatternPeriod = 4096;
inline constexpr auto kPatternTable = [] {
  struct Table {
    uint8_t bytes[kPatternPeriod];
  } table{};
  uint64_t x = 0x243f6a8885a308d3ull;
  for (size_t i = 0; i < kPatternPeriod; ++i) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    table.bytes[i] = static_cast<uint8_t>((z ^ (z >> 27)) >> 32);
  }
  return table;
}();

inline uint8_t PatternByte(uint8_t seed, size_t offset) {
  return static_cast<uint8_t>(kPatternTable.bytes[offset % kPatternPeriod] ^ (offset / kPatternPeriod) ^ seed);
}

// Writes the pattern bytes for [offset, offset + length) of a block to `out` (out[0] is byte `offset`).
SC_FUZZ_NO_COVERAGE inline void WritePattern(uint8_t* out, size_t offset, size_t length, uint8_t seed) {
  while (length > 0) {
    size_t in_chunk = offset % kPatternPeriod;
    size_t n = kPatternPeriod - in_chunk < length ? kPatternPeriod - in_chunk : length;
    const uint8_t mix = static_cast<uint8_t>((offset / kPatternPeriod) ^ seed);
    const uint8_t* source = kPatternTable.bytes + in_chunk;
    size_t i = 0;
    const uint64_t mix_word = 0x0101010101010101ull * mix;
    for (; i + 8 <= n; i += 8) {
      uint64_t word;
      __builtin_memcpy(&word, source + i, 8);
      word ^= mix_word;
      __builtin_memcpy(out + i, &word, 8);
    }
    for (; i < n; ++i) out[i] = static_cast<uint8_t>(source[i] ^ mix);
    out += n;
    offset += n;
    length -= n;
  }
}

// Decodes a trace. A trace that ends in the middle of an op ends before that op.
class OpStream {
 public:
  OpStream(const uint8_t* data, size_t size) : data_(data), end_(data + size) {
    if (data_ < end_) config_ = DecodeConfig(*data_++);
  }

  const TraceConfig& config() const { return config_; }

  bool Next(Op* op) {
    uint8_t code;
    if (!Byte(&code)) return false;
    *op = Op();
    op->kind = KindOfOpcode(code);
    switch (op->kind) {
      case OpKind::kMalloc:
      case OpKind::kRealloc:
        return Slot(op) && Size(&op->size);
      case OpKind::kCalloc:
        return Slot(op) && Count(&op->count) && Size(&op->size);
      case OpKind::kMemalign:
      case OpKind::kPosixMemalign:
      case OpKind::kAlignedAlloc:
        return Slot(op) && Alignment(&op->alignment) && Size(&op->size);
      case OpKind::kFree:
      case OpKind::kFreeSized:
      case OpKind::kCheck:
      case OpKind::kUsableSize:
        return Slot(op);
      case OpKind::kFill:
        return Slot(op) && U16(&op->fill_offset) && U16(&op->fill_length) && Byte(&op->seed);
      case OpKind::kSwitchThread: {
        uint8_t b;
        if (!Byte(&b)) return false;
        op->thread = static_cast<uint8_t>(b % kNumThreads);
        return true;
      }
      case OpKind::kFlushThread:
      case OpKind::kTrim:
        return true;
      case OpKind::kMisuse: {
        uint8_t b;
        if (!Byte(&b)) return false;
        op->misuse = static_cast<MisuseKind>(b % kNumMisuseKinds);
        return Slot(op) && Byte(&op->arg);
      }
    }
    return false;
  }

  // Opcode byte ranges (README.md, "Opcodes"): weights favour allocation and free.
  static constexpr OpKind KindOfOpcode(uint8_t code) {
    if (code < 0x30) return OpKind::kMalloc;
    if (code < 0x40) return OpKind::kCalloc;
    if (code < 0x60) return OpKind::kRealloc;
    if (code < 0x68) return OpKind::kMemalign;
    if (code < 0x70) return OpKind::kPosixMemalign;
    if (code < 0x78) return OpKind::kAlignedAlloc;
    if (code < 0xa8) return OpKind::kFree;
    if (code < 0xb8) return OpKind::kFreeSized;
    if (code < 0xd0) return OpKind::kFill;
    if (code < 0xe0) return OpKind::kCheck;
    if (code < 0xe8) return OpKind::kUsableSize;
    if (code < 0xf4) return OpKind::kSwitchThread;
    if (code < 0xf6) return OpKind::kFlushThread;
    if (code < 0xf8) return OpKind::kTrim;
    return OpKind::kMisuse;
  }

  static TraceConfig DecodeConfig(uint8_t byte) {
    static constexpr int kThresholds[8] = {-1, 0, 100, 50, 10, 90, 1, 99};
    TraceConfig config;
    config.reuse_threshold = kThresholds[byte & 7];
    config.no_span_cache = (byte & 8) != 0;
    config.zero_on_free = (byte & 16) != 0;
    config.options_text = (byte & 32) != 0;
    config.no_large_cache = (byte & 64) != 0;
    return config;
  }

 private:
  bool Byte(uint8_t* out) {
    if (data_ >= end_) return false;
    *out = *data_++;
    return true;
  }
  bool LittleEndian(size_t bytes, uint64_t* out) {
    if (static_cast<size_t>(end_ - data_) < bytes) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; ++i) value |= uint64_t{data_[i]} << (8 * i);
    data_ += bytes;
    *out = value;
    return true;
  }
  bool U16(uint16_t* out) {
    uint64_t value;
    if (!LittleEndian(2, &value)) return false;
    *out = static_cast<uint16_t>(value);
    return true;
  }
  bool Slot(Op* op) {
    uint8_t b;
    if (!Byte(&b)) return false;
    op->slot = static_cast<uint8_t>(b % kNumSlots);
    return true;
  }
  bool Alignment(size_t* out) {
    uint8_t b;
    if (!Byte(&b)) return false;
    *out = size_t{1} << (b % kNumAlignmentLogs);
    return true;
  }
  bool Count(size_t* out) {
    uint8_t b;
    if (!Byte(&b)) return false;
    // The top 16 values make counts whose product with most sizes overflows (calloc must fail cleanly).
    *out = b < 0xf0 ? b : SIZE_MAX >> (b - 0xf0);
    return true;
  }

  // Variable-length size field (README.md, "Sizes"): one byte for tiny requests, more for rarer big ones.
  bool Size(size_t* out) {
    uint8_t t;
    if (!Byte(&t)) return false;
    uint64_t v;
    if (t < 0x80) {
      *out = t;
    } else if (t < 0xc0) {
      if (!LittleEndian(1, &v)) return false;
      *out = (size_t{t & 0x3fu} << 8) | v;
    } else if (t < 0xf0) {
      if (!LittleEndian(2, &v)) return false;
      *out = (size_t{(t - 0xc0u) & 15u} << 16) | v;
    } else if (t < 0xf8) {
      if (!LittleEndian(3, &v)) return false;
      *out = kSpecMaxSmallSize + 1 + v % (3 * kSpecMaxSmallSize);
    } else if (t == 0xf8) {
      if (!LittleEndian(4, &v)) return false;
      *out = v;
    } else if (t == 0xf9) {
      if (!LittleEndian(8, &v)) return false;
      *out = v;
    } else if (t == 0xfa) {
      if (!LittleEndian(1, &v)) return false;
      *out = SpecClassSize((v >> 1) % kSpecNumClasses) + (v & 1);
    } else if (t == 0xfb) {
      static constexpr size_t kEdges[8] = {0,       1 << 20,       (1 << 20) + 1, (1 << 20) + 4096,
                                           2 << 20, (2 << 20) + 1, 4096,          4097};
      if (!LittleEndian(1, &v)) return false;
      *out = kEdges[v % 8];
    } else if (t == 0xfc) {
      if (!LittleEndian(1, &v)) return false;
      *out = SIZE_MAX - v;
    } else if (t == 0xfd) {
      if (!LittleEndian(1, &v)) return false;
      *out = size_t{PTRDIFF_MAX} + 1 + v;
    } else {
      *out = t == 0xfe ? 0 : 16;
    }
    return true;
  }

  const uint8_t* data_;
  const uint8_t* end_;
  TraceConfig config_;
};

inline const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kMalloc:
      return "malloc";
    case OpKind::kCalloc:
      return "calloc";
    case OpKind::kRealloc:
      return "realloc";
    case OpKind::kMemalign:
      return "memalign";
    case OpKind::kPosixMemalign:
      return "posix_memalign";
    case OpKind::kAlignedAlloc:
      return "aligned_alloc";
    case OpKind::kFree:
      return "free";
    case OpKind::kFreeSized:
      return "free_sized";
    case OpKind::kFill:
      return "fill";
    case OpKind::kCheck:
      return "check";
    case OpKind::kUsableSize:
      return "usable_size";
    case OpKind::kSwitchThread:
      return "switch_thread";
    case OpKind::kFlushThread:
      return "flush_thread";
    case OpKind::kTrim:
      return "trim";
    case OpKind::kMisuse:
      return "misuse";
  }
  return "?";
}

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_OP_STREAM_H_
