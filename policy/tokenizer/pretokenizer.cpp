#include "policy/tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace visrl::policy {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return std::string(reinterpret_cast<const char*>(buffer));
}

// Match data is per thread: encode() is const and may run on many threads at once.
struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(4, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

}  // namespace

std::string exact_whitespace_class(std::string_view p) {
  // Unicode White_Space, spelled out.
  constexpr std::string_view ws =
      R"(\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      if (e == 's') {
        out += in_class ? std::string(ws) : fmt::format("[{}]", ws);
      } else if (e == 'S') {
        // Inside a class, "not white space" cannot be spelled as a list.
        if (in_class) fail(ErrorKind::format, "regex '{}': \\S inside a character class is not supported", p);
        out += fmt::format("[^{}]", ws);
      } else {
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

struct RegexSplitter::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() { pcre2_code_free(code); }
};

RegexSplitter::RegexSplitter(std::string_view pattern, bool literal, std::string_view where)
    : impl_(std::make_unique<Impl>()) {
  const std::string source = literal ? std::string(pattern) : exact_whitespace_class(pattern);
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options |= PCRE2_LITERAL;
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options, &error, &offset, nullptr);
  if (impl_->code == nullptr) {
    fail(ErrorKind::format, "{}: regex does not compile at offset {}: {}", where, offset, pcre2_message(error));
  }
  // JIT makes the split several times faster; without JIT support the interpreter still works.
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

RegexSplitter::~RegexSplitter() = default;
RegexSplitter::RegexSplitter(RegexSplitter&&) noexcept = default;
RegexSplitter& RegexSplitter::operator=(RegexSplitter&&) noexcept = default;

void RegexSplitter::split(std::string_view text, std::vector<std::string_view>& out) const {
  thread_local MatchData md;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;      // where the next search starts
  size_t emitted = 0;  // end of the last piece
  while (pos < text.size()) {
    const int rc = impl_->jit
                       ? pcre2_jit_match(impl_->code, subject, text.size(), pos, 0, md.data, nullptr)
                       : pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail(ErrorKind::runtime, "pre-tokenizer regex failed: {}", pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
    const size_t start = ov[0], end = ov[1];
    if (end == start) {
      // An empty match splits nothing; step over one character to avoid looping on it.
      pos = start + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    if (start > emitted) out.push_back(text.substr(emitted, start - emitted));
    out.push_back(text.substr(start, end - start));
    emitted = pos = end;
  }
  if (emitted < text.size()) out.push_back(text.substr(emitted));
}

}  // namespace visrl::policy
