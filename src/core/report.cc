// Report formatting and delivery (hook or stderr + abort), with a guard against reporting recursively.
#include "src/core/report.h"

#include <atomic>

#include "src/os/os.h"

namespace scalloc::internal {
namespace {

std::atomic<ReportHook> g_report_hook{nullptr};
std::atomic<bool> g_reporting{false};

void Deliver(ReportKind kind, TextBuffer& text, uintptr_t address) {
  if (ReportHook hook = g_report_hook.load(std::memory_order_acquire)) {
    hook(kind, text.CString(), address);
    return;
  }
  // A second report while the first is being written (another thread, or a fault inside the report) must not
  // interleave or recurse: the first one wins and the process dies anyway.
  if (g_reporting.exchange(true)) SystemOs::Abort();
  text.AppendChar('\n');
  SystemOs::WriteToStderr(text.data(), text.size());
  SystemOs::Abort();
}

}  // namespace

const char* ReportKindName(ReportKind kind) {
  switch (kind) {
    case ReportKind::kDoubleFree:
      return "double free";
    case ReportKind::kInvalidFree:
      return "invalid free";
    case ReportKind::kCorruptedFreeList:
      return "corrupted free list";
    case ReportKind::kSizeMismatch:
      return "size mismatch";
    case ReportKind::kCorruptedSpan:
      return "corrupted span metadata";
    case ReportKind::kInvalidPointer:
      return "invalid pointer";
  }
  return "unknown error";
}

void SetReportHookForTesting(ReportHook hook) { g_report_hook.store(hook, std::memory_order_release); }

void ReportDoubleFree(const void* address, uint32_t class_id, size_t block_bytes) {
  char storage[256];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: double free of ").AppendHex(reinterpret_cast<uintptr_t>(address));
  if (class_id == 0xffffffffu) {
    text.Append(" (large object of ").AppendDecimal(block_bytes).Append(" bytes)");
  } else if (block_bytes != 0) {
    text.Append(" (size class ").AppendDecimal(class_id).Append(", block of ");
    text.AppendDecimal(block_bytes).Append(" bytes)");
  } else {
    text.Append(" (size class ").AppendDecimal(class_id).Append(", its span is already empty)");
  }
  Deliver(ReportKind::kDoubleFree, text, reinterpret_cast<uintptr_t>(address));
}

void ReportInvalidFree(const void* address, const char* why) {
  char storage[256];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: invalid free of ").AppendHex(reinterpret_cast<uintptr_t>(address));
  text.Append(" (").Append(why).Append(")");
  Deliver(ReportKind::kInvalidFree, text, reinterpret_cast<uintptr_t>(address));
}

void ReportCorruptedFreeList(const void* slot, uintptr_t link, uint32_t class_id) {
  char storage[256];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: corrupted free list at ").AppendHex(reinterpret_cast<uintptr_t>(slot));
  text.Append(" (decoded link ").AppendHex(link).Append(", size class ").AppendDecimal(class_id).Append(")");
  Deliver(ReportKind::kCorruptedFreeList, text, reinterpret_cast<uintptr_t>(slot));
}

void ReportSizeMismatch(const void* address, size_t given_bytes, size_t block_bytes) {
  char storage[256];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: size mismatch in sized free of ").AppendHex(reinterpret_cast<uintptr_t>(address));
  text.Append(" (given ").AppendDecimal(given_bytes).Append(" bytes, block holds ");
  text.AppendDecimal(block_bytes).Append(" bytes)");
  Deliver(ReportKind::kSizeMismatch, text, reinterpret_cast<uintptr_t>(address));
}

void ReportCorruptedSpan(const void* address) {
  char storage[256];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: corrupted span metadata for ").AppendHex(reinterpret_cast<uintptr_t>(address));
  Deliver(ReportKind::kCorruptedSpan, text, reinterpret_cast<uintptr_t>(address));
}

void ReportInvalidPointer(const void* address, const char* operation) {
  char storage[256];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: invalid pointer ").AppendHex(reinterpret_cast<uintptr_t>(address));
  text.Append(" passed to ").Append(operation).Append(" (not a block allocated by scalloc)");
  Deliver(ReportKind::kInvalidPointer, text, reinterpret_cast<uintptr_t>(address));
}

void LogMessage(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  SystemOs::WriteToStderr(text, n);
}

TextBuffer& TextBuffer::Append(const char* text) {
  while (*text != '\0' && size_ + 1 < capacity_) data_[size_++] = *text++;
  return *this;
}

TextBuffer& TextBuffer::AppendChar(char c) {
  if (size_ + 1 < capacity_) data_[size_++] = c;
  return *this;
}

TextBuffer& TextBuffer::AppendDecimal(uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) AppendChar(digits[--n]);
  return *this;
}

TextBuffer& TextBuffer::AppendHex(uint64_t value) {
  Append("0x");
  char digits[16];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value & 15];
    value >>= 4;
  } while (value != 0);
  while (n > 0) AppendChar(digits[--n]);
  return *this;
}

const char* TextBuffer::CString() {
  if (capacity_ == 0) return "";
  data_[size_ < capacity_ ? size_ : capacity_ - 1] = '\0';
  return data_;
}

}  // namespace scalloc::internal
