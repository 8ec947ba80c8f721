// Statistics rendering (see stats_format.h).
#include "src/core/stats_format.h"

namespace scalloc::internal {
namespace {

bool ClassUsed(const ClassStats& c) {
  return c.allocated_total + c.spans_hot + c.spans_floating + c.spans_reusable != 0;
}

// Right-aligns a number in a column of `width` characters.
void Column(TextBuffer& out, uint64_t value, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = n; i < width; ++i) out.AppendChar(' ');
  while (n > 0) out.AppendChar(digits[--n]);
}

}  // namespace

void FormatStatsTable(const Stats& stats, const char* mode_name, TextBuffer& out) {
  out.Append("scalloc statistics (").Append(mode_name).Append(" mode)\n");
  out.Append("  class   block   allocated      freed   in use     free   hot float reuse  committed\n");
  for (size_t c = 0; c < kNumClasses; ++c) {
    const ClassStats& s = stats.classes[c];
    if (!ClassUsed(s)) continue;
    Column(out, c, 7);
    Column(out, s.block_bytes, 8);
    Column(out, s.allocated_total, 12);
    Column(out, s.freed_total, 11);
    Column(out, s.blocks_in_use, 9);
    Column(out, s.blocks_free, 9);
    Column(out, s.spans_hot, 6);
    Column(out, s.spans_floating, 6);
    Column(out, s.spans_reusable, 6);
    Column(out, s.committed_bytes, 11);
    out.AppendChar('\n');
  }
  out.Append("  live bytes:        ").AppendDecimal(stats.live_bytes).AppendChar('\n');
  out.Append("  committed bytes:   ").AppendDecimal(stats.committed_bytes).AppendChar('\n');
  out.Append("  large objects:     ").AppendDecimal(stats.large_objects).Append(" (");
  out.AppendDecimal(stats.large_bytes).Append(" bytes; ").AppendDecimal(stats.large_allocated_total);
  out.Append(" allocated, ").AppendDecimal(stats.large_freed_total).Append(" freed; cache ");
  out.AppendDecimal(stats.large_cache_bytes).Append(" bytes)\n");
  out.Append("  free spans:        ").AppendDecimal(stats.spans_free).Append(" (cache ");
  out.AppendDecimal(stats.span_cache_bytes).Append(" bytes)\n");
  out.Append("  spans ever used:   ").AppendDecimal(stats.arena_spans_ever_used).Append(" of arena ");
  out.AppendDecimal(stats.arena_reserved_bytes >> 20).Append(" MiB\n");
  out.Append("  threads with LABs: ").AppendDecimal(stats.threads_bound).AppendChar('\n');
  out.Append("  resident bytes:    ").AppendDecimal(stats.resident_bytes).AppendChar('\n');
}

void FormatStatsJson(const Stats& stats, const char* mode_name, TextBuffer& out) {
  out.Append("{\"mode\":\"").Append(mode_name).Append("\"");
  out.Append(",\"live_bytes\":").AppendDecimal(stats.live_bytes);
  out.Append(",\"committed_bytes\":").AppendDecimal(stats.committed_bytes);
  out.Append(",\"resident_bytes\":").AppendDecimal(stats.resident_bytes);
  out.Append(",\"arena_reserved_bytes\":").AppendDecimal(stats.arena_reserved_bytes);
  out.Append(",\"arena_spans_ever_used\":").AppendDecimal(stats.arena_spans_ever_used);
  out.Append(",\"spans_free\":").AppendDecimal(stats.spans_free);
  out.Append(",\"span_cache_bytes\":").AppendDecimal(stats.span_cache_bytes);
  out.Append(",\"large_objects\":").AppendDecimal(stats.large_objects);
  out.Append(",\"large_bytes\":").AppendDecimal(stats.large_bytes);
  out.Append(",\"large_allocated_total\":").AppendDecimal(stats.large_allocated_total);
  out.Append(",\"large_freed_total\":").AppendDecimal(stats.large_freed_total);
  out.Append(",\"large_cache_bytes\":").AppendDecimal(stats.large_cache_bytes);
  out.Append(",\"threads\":").AppendDecimal(stats.threads_bound);
  out.Append(",\"classes\":[");
  bool first = true;
  for (size_t c = 0; c < kNumClasses; ++c) {
    const ClassStats& s = stats.classes[c];
    if (!ClassUsed(s)) continue;
    if (!first) out.AppendChar(',');
    first = false;
    out.Append("{\"class\":").AppendDecimal(c);
    out.Append(",\"block_bytes\":").AppendDecimal(s.block_bytes);
    out.Append(",\"allocated_total\":").AppendDecimal(s.allocated_total);
    out.Append(",\"freed_total\":").AppendDecimal(s.freed_total);
    out.Append(",\"blocks_in_use\":").AppendDecimal(s.blocks_in_use);
    out.Append(",\"blocks_free\":").AppendDecimal(s.blocks_free);
    out.Append(",\"spans_hot\":").AppendDecimal(s.spans_hot);
    out.Append(",\"spans_floating\":").AppendDecimal(s.spans_floating);
    out.Append(",\"spans_reusable\":").AppendDecimal(s.spans_reusable);
    out.Append(",\"committed_bytes\":").AppendDecimal(s.committed_bytes).AppendChar('}');
  }
  out.Append("]}");
}

void FormatStatsMallocInfoXml(const Stats& stats, TextBuffer& out) {
  // glibc's shape: <malloc version="1"><heap nr="0"><sizes><size from= to= total= count=/>...</sizes>
  // <total type="fast"...>...</heap><total .../><system .../><aspace .../></malloc>
  out.Append("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
  uint64_t free_bytes = 0, free_count = 0;
  for (size_t c = 0; c < kNumClasses; ++c) {
    const ClassStats& s = stats.classes[c];
    if (!ClassUsed(s)) continue;
    uint64_t from = c == 0 ? 1 : stats.classes[c - 1].block_bytes + 1;
    if (c > 0 && from == 1) from = s.block_bytes;
    out.Append("  <size from=\"").AppendDecimal(from).Append("\" to=\"").AppendDecimal(s.block_bytes);
    out.Append("\" total=\"").AppendDecimal(s.blocks_free * s.block_bytes).Append("\" count=\"");
    out.AppendDecimal(s.blocks_free).Append("\"/>\n");
    free_bytes += s.blocks_free * s.block_bytes;
    free_count += s.blocks_free;
  }
  out.Append("</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  out.Append("<total type=\"rest\" count=\"").AppendDecimal(free_count).Append("\" size=\"");
  out.AppendDecimal(free_bytes).Append("\"/>\n");
  out.Append("<system type=\"current\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("<system type=\"max\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("<aspace type=\"total\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("<aspace type=\"mprotect\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("</heap>\n");
  out.Append("<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  out.Append("<total type=\"rest\" count=\"").AppendDecimal(free_count).Append("\" size=\"");
  out.AppendDecimal(free_bytes).Append("\"/>\n");
  out.Append("<total type=\"mmap\" count=\"").AppendDecimal(stats.large_objects).Append("\" size=\"");
  out.AppendDecimal(stats.large_bytes).Append("\"/>\n");
  out.Append("<system type=\"current\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("<system type=\"max\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("<aspace type=\"total\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("<aspace type=\"mprotect\" size=\"").AppendDecimal(stats.committed_bytes).Append("\"/>\n");
  out.Append("</malloc>\n");
}

}  // namespace scalloc::internal
