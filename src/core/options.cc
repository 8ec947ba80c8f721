// Option parsing and printing, allocation free.
#include "src/core/options.h"

#include "src/core/report.h"

namespace scalloc::internal {
namespace {

bool NameEquals(const char* begin, const char* end, const char* name) {
  for (; begin < end; ++begin, ++name) {
    char c = *begin;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (*name == '\0' || c != *name) return false;
  }
  return *name == '\0';
}

bool ParseInteger(const char* begin, const char* end, int64_t* out) {
  bool negative = false;
  if (begin < end && *begin == '-') {
    negative = true;
    ++begin;
  }
  if (begin == end) return false;
  int64_t value = 0;
  for (; begin < end; ++begin) {
    if (*begin < '0' || *begin > '9') return false;
    if (value > (int64_t{1} << 40)) return false;
    value = value * 10 + (*begin - '0');
  }
  *out = negative ? -value : value;
  return true;
}

void ReportBadEntry(const char* begin, const char* end, const char* why) {
  char storage[200];
  TextBuffer text(storage, sizeof(storage));
  text.Append("scalloc: warning: ignoring SCALLOC_OPTIONS entry '");
  for (const char* p = begin; p < end && text.size() < 120; ++p) text.AppendChar(*p);
  text.Append("': ").Append(why).AppendChar('\n');
  LogMessage(text.CString());
}

}  // namespace

int Options::Parse(const char* text) {
  int bad = 0;
  if (text == nullptr) return 0;
  const char* p = text;
  while (*p != '\0') {
    const char* begin = p;
    while (*p != '\0' && *p != ':' && *p != ',') ++p;
    const char* end = p;
    if (*p != '\0') ++p;
    if (begin == end) continue;
    const char* equals = begin;
    while (equals < end && *equals != '=') ++equals;
    int64_t value = 1;  // "name" alone means name=1
    if (equals < end && !ParseInteger(equals + 1, end, &value)) {
      ReportBadEntry(begin, end, "value is not an integer");
      ++bad;
      continue;
    }
    bool known = false;
#define SC_PARSE_FIELD(name, default_value, min, max, doc) \
  if (!known && NameEquals(begin, equals, #name)) {        \
    known = true;                                          \
    if (value < (min) || value > (max)) {                  \
      ReportBadEntry(begin, end, "value out of range");    \
      ++bad;                                               \
    } else {                                               \
      this->name = value;                                  \
    }                                                      \
  }
    SC_OPTIONS_TABLE(SC_PARSE_FIELD)
#undef SC_PARSE_FIELD
    if (!known) {
      ReportBadEntry(begin, end, "unknown option");
      ++bad;
    }
  }
  return bad;
}

void Options::Print() const {
  char storage[512];
#define SC_PRINT_FIELD(name, default_value, min, max, doc)                    \
  {                                                                           \
    TextBuffer text(storage, sizeof(storage));                                \
    text.Append("scalloc: option ").Append(#name).AppendChar('=');            \
    if (this->name < 0) {                                                     \
      text.AppendChar('-').AppendDecimal(static_cast<uint64_t>(-this->name)); \
    } else {                                                                  \
      text.AppendDecimal(static_cast<uint64_t>(this->name));                  \
    }                                                                         \
    text.Append("  (").Append(doc).Append(")\n");                             \
    LogMessage(text.CString());                                               \
  }
  SC_OPTIONS_TABLE(SC_PRINT_FIELD)
#undef SC_PRINT_FIELD
}

}  // namespace scalloc::internal
