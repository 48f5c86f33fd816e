// Random and mutated critic outputs must never crash, hang or break the report's invariants.
// Built with AddressSanitizer and UBSan (tests/reward/parser/CMakeLists.txt). Deterministic:
// every generator has a fixed seed. Besides the invariants, the tolerant JSON reader is held
// to nlohmann::json on every mutant: what nlohmann accepts it reads identically without a
// repair, and what it reads without a repair nlohmann accepts.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "reward/parser/critic_parser.h"
#include "reward/parser/tolerant_json.h"

namespace visrl::reward {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr Task kTasks[] = {Task::chart, Task::table, Task::svg};

// Well-formed UTF-8 after Unicode table 3-7, written independently of the parser's checker.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c <= 0x7F) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char lower = k == 1 ? lo : 0x80, upper = k == 1 ? hi : 0xBF;
      if (b(i + k) < lower || b(i + k) > upper) return false;
    }
    i += n;
  }
  return true;
}

bool clean_text(std::string_view s) {
  if (s.size() > 2000 || !valid_utf8(s)) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7F) return false;
  }
  return true;
}

// "" when every invariant of a parse holds, else what is broken.
std::string violation(Task task, const ParsedCritique& p) {
  const ParseReport& r = p.report;
  if (r.dropped < 0 || r.repairs < 0) return "negative count";
  if (r.message.size() > 600 || !valid_utf8(r.message)) return "message too long or not UTF-8";
  switch (r.status) {
    case ParseStatus::ok:
      if (r.dropped != 0 || r.repairs != 0 || !r.message.empty()) return "ok with drops, repairs or a message";
      break;
    case ParseStatus::repaired:
      if (r.dropped == 0 && r.repairs == 0) return "repaired without a drop or a repair";
      if (r.message.empty()) return "repaired without a message";
      break;
    case ParseStatus::failed:
      if (!p.errors.empty()) return "failed with errors";
      // Drops and repairs are counted only when a list was found whose every entry was
      // invalid, or that was cut off before its first entry.
      if ((r.dropped != 0 || r.repairs != 0) && r.message.rfind("no valid error entry", 0) != 0)
        return "failed with drops or repairs";
      if (r.message.empty()) return "failed without a message";
      break;
  }
  if (p.errors.size() > 256) return "more than 256 errors";
  for (const auto& e : p.errors) {
    if (!is_category(task, e.category)) return "category " + e.category;
    if (e.severity < 1 || e.severity > 3) return "severity " + std::to_string(e.severity);
    if (!clean_text(e.location)) return "location not clean";
    if (!clean_text(e.description)) return "description not clean";
  }
  return "";
}

bool only_space(std::string_view s) {
  return s.find_first_not_of(" \t\n\r") == std::string_view::npos;
}

// The reader against nlohmann::json on the same text. "" when they agree.
std::string reader_disagreement(const std::string& text) {
  if (text.starts_with("\xEF\xBB\xBF")) return "";  // nlohmann skips a byte order mark; the reader does not
  bool accepted = false;
  try {
    accepted = json::accept(text);
  } catch (...) {
    return "nlohmann accept threw";
  }
  // nlohmann takes a NUL byte outside strings for the end of the input: compare what precedes it.
  const std::string_view read = accepted ? std::string_view(text).substr(0, text.find('\0')) : text;
  const tolerant_json::Result r = tolerant_json::parse(read);
  const bool clean = r.ok && r.total_fixes() == 0 && only_space(read.substr(r.end));
  if (accepted) {
    if (!r.ok && r.error.starts_with("nested deeper")) return "";  // the reader's own limit
    if (!clean) return "nlohmann accepts, the reader repaired or refused: " + r.error;
    if (r.value != json::parse(text)) return "values differ";
  } else if (clean) {
    return "the reader accepts without repair what nlohmann rejects";
  }
  return "";
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 300)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return s.size() > 300 ? out + "..." : out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Sample {
  Task task;
  std::string text;
};

std::vector<Sample> corpus() {
  const std::string dir = std::string(VISRL_SOURCE_DIR) + "/tests/reward/parser/fixtures/";
  std::vector<Sample> samples = {
      {Task::chart, read_file(dir + "chart_fenced.txt")},
      {Task::chart, read_file(dir + "chart_think.txt")},
      {Task::chart, read_file(dir + "chart_truncated.txt")},
      {Task::table, read_file(dir + "table_bare.txt")},
      {Task::table, read_file(dir + "table_python.txt")},
      {Task::svg, read_file(dir + "svg_prose.txt")},
      {Task::chart,
       R"({"errors": [], "counts": {"structure_error": 0, "data_error": 0, "text_error": 0, "style_error": 0}})"},
      {Task::table, R"([{"type": "layout_error", "severity": "3", "description": "a column is missing"}])"},
      {Task::svg,
       "```json\n{\"discrepancies\": [{\"category\": \"Shape\", \"severity\": \"medium\", \"location\": [\"circle\", "
       "\"rect\"], \"desc\": \"wrong corner radius \\u00e9\"},]}\n```"},
      {Task::chart,
       "<think>\nThe bars differ. {\"errors\": [{\"category\": \"data_error\", \"severity\": 3}]}\n</think>\n"
       "{'errors': [{'category': 'data_error', 'severity': 2, 'location': 'bar 2', 'description': 'too tall'}], "
       "'counts': {'data_error': 1}} // done"},
  };
  for (const auto& s : samples) EXPECT_FALSE(s.text.empty());
  return samples;
}

const std::vector<std::string>& tokens() {
  static const std::vector<std::string> t = {
      "{",
      "}",
      "[",
      "]",
      "\"",
      "'",
      ":",
      ",",
      " ",
      "\n",
      "\t",
      "```json\n",
      "```",
      "\n```",
      "<think>",
      "</think>",
      "//",
      "/*",
      "*/",
      "\\",
      "\\u",
      "\\ud800",
      "\\u00e9",
      "\\n",
      "\"errors\"",
      "\"discrepancies\"",
      "\"counts\"",
      "\"category\"",
      "\"type\"",
      "\"error_type\"",
      "\"severity\"",
      "\"location\"",
      "\"description\"",
      "\"desc\"",
      "\"data_error\"",
      "\"text_error\"",
      "\"style_error\"",
      "\"structure_error\"",
      "\"layout_error\"",
      "\"numeric_error\"",
      "\"shape_error\"",
      "\"text_symbol_error\"",
      "\"other_error\"",
      "\"Data Error\"",
      "\"color_error\"",
      "0",
      "1",
      "2",
      "3",
      "4",
      "-1",
      "2.5",
      "2.0",
      "1e400",
      "99999999999999999999",
      "\"2\"",
      "\"medium\"",
      "\"Severity 3\"",
      "true",
      "false",
      "null",
      "True",
      "False",
      "None",
      "NaN",
      "-Infinity",
      "prose ",
      "Here is the JSON: ",
      "\xff",
      "\xc3",
      "\xe2\x82",
      "\xf0\x9f\x98\x80",
      std::string(1, '\0'),
      "{\"errors\": [",
      "{\"category\": \"data_error\", \"severity\": 2, \"location\": \"a\", \"description\": \"b\"}",
  };
  return t;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  size_t below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(engine_); }
  char byte() { return static_cast<char>(below(256)); }
  Task task() { return kTasks[below(3)]; }

 private:
  std::mt19937_64 engine_;
};

std::string random_bytes(Rng& rng) {
  static const std::string kAlphabet = "{}[]\"':,. \n\t\\/-+0123456789eEtrufalsnNTF`<>#*abcdxyz";
  const size_t n = rng.below(600);
  const bool biased = rng.below(2) == 0;
  std::string s(n, '\0');
  for (char& c : s) c = biased ? kAlphabet[rng.below(kAlphabet.size())] : rng.byte();
  return s;
}

std::string token_soup(Rng& rng) {
  const size_t n = 1 + rng.below(300);
  std::string s;
  for (size_t i = 0; i < n; ++i) s += tokens()[rng.below(tokens().size())];
  return s;
}

std::string mutate(Rng& rng, std::string s, const std::vector<Sample>& samples) {
  const size_t rounds = 1 + rng.below(4);
  for (size_t round = 0; round < rounds; ++round) {
    const size_t pos = rng.below(s.size() + 1);
    const size_t len = 1 + rng.below(std::max<size_t>(1, std::min<size_t>(s.size() / 4, 64)));
    switch (rng.below(9)) {
      case 0:  // flip a byte
        if (!s.empty()) s[rng.below(s.size())] = rng.byte();
        break;
      case 1:  // flip a bit
        if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1 << rng.below(8));
        break;
      case 2:  // insert a token
        s.insert(pos, tokens()[rng.below(tokens().size())]);
        break;
      case 3:  // insert random bytes
        for (size_t k = 0; k < len % 8 + 1; ++k) s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), rng.byte());
        break;
      case 4:  // delete a range
        if (pos < s.size()) s.erase(pos, len);
        break;
      case 5:  // truncate
        s.resize(pos);
        break;
      case 6: {  // duplicate a range somewhere else
        if (s.empty()) break;
        const size_t from = rng.below(s.size());
        const std::string piece = s.substr(from, len);
        s.insert(rng.below(s.size() + 1), piece);
        break;
      }
      case 7: {  // splice with another sample
        const std::string& other = samples[rng.below(samples.size())].text;
        s = s.substr(0, pos) + other.substr(rng.below(other.size() + 1));
        break;
      }
      case 8:  // replace a range with a token
        if (pos < s.size()) s.replace(pos, len, tokens()[rng.below(tokens().size())]);
        break;
    }
  }
  return s;
}

// Parses `text` as `task`, checks every invariant, and for some inputs that a second parse
// gives the same result. Returns false (after reporting) on the first broken invariant.
bool check(Task task, const std::string& text, bool twice, ParseStatus* status = nullptr) {
  const ParsedCritique p = parse_critic_output(task, text);
  if (status != nullptr) *status = p.report.status;
  if (const std::string v = violation(task, p); !v.empty()) {
    ADD_FAILURE() << v << " for " << to_string(render::RenderKind(task)) << " input " << printable(text)
                  << "\nmessage: " << p.report.message;
    return false;
  }
  if (twice) {
    const ParsedCritique again = parse_critic_output(task, text);
    if (again.errors != p.errors || again.report.message != p.report.message) {
      ADD_FAILURE() << "not deterministic for " << printable(text);
      return false;
    }
  }
  return true;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(CriticParserFuzz, RandomBytes) {
  Rng rng(20240611);
  const auto start = Clock::now();
  constexpr int kInputs = 25000;
  for (int i = 0; i < kInputs; ++i) {
    const std::string text = random_bytes(rng);
    ASSERT_TRUE(check(rng.task(), text, i % 16 == 0));
    ASSERT_EQ(reader_disagreement(text), "") << printable(text);
  }
  std::printf("random bytes: %d inputs in %.2f s\n", kInputs, seconds_since(start));
}

TEST(CriticParserFuzz, TokenSoup) {
  Rng rng(7);
  const auto start = Clock::now();
  constexpr int kInputs = 35000;
  for (int i = 0; i < kInputs; ++i) {
    const std::string text = token_soup(rng);
    ASSERT_TRUE(check(rng.task(), text, i % 16 == 0));
    ASSERT_EQ(reader_disagreement(text), "") << printable(text);
  }
  std::printf("token soup: %d inputs in %.2f s\n", kInputs, seconds_since(start));
}

TEST(CriticParserFuzz, MutatedCriticOutputs) {
  const std::vector<Sample> samples = corpus();
  for (const auto& s : samples) ASSERT_TRUE(check(s.task, s.text, true));
  Rng rng(42);
  const auto start = Clock::now();
  constexpr int kInputs = 50000;
  int by_status[3] = {0, 0, 0};
  for (int i = 0; i < kInputs; ++i) {
    const Sample& sample = samples[rng.below(samples.size())];
    const Task task = rng.below(4) == 0 ? rng.task() : sample.task;
    const std::string text = mutate(rng, sample.text, samples);
    ParseStatus status = ParseStatus::failed;
    ASSERT_TRUE(check(task, text, i % 16 == 0, &status));
    ASSERT_EQ(reader_disagreement(text), "") << printable(text);
    ++by_status[static_cast<int>(status)];
  }
  // The mutants reach every outcome, so the repairs and drops are exercised, not only failures.
  for (int n : by_status) EXPECT_GT(n, kInputs / 20);
  std::printf("mutations: %d inputs (ok %d, repaired %d, failed %d) in %.2f s\n", kInputs, by_status[0], by_status[1],
              by_status[2], seconds_since(start));
}

struct Pathological {
  std::string name;
  Task task;
  std::string text;
  ParseStatus status;
  size_t errors;
  std::string message;  // prefix
};

std::string repeat(std::string_view piece, size_t times) {
  std::string s;
  s.reserve(piece.size() * times);
  for (size_t i = 0; i < times; ++i) s += piece;
  return s;
}

TEST(CriticParserFuzz, PathologicalInputsAreLinear) {
  constexpr size_t kMB = 1 << 20;
  const std::string entry = R"({"category": "data_error", "severity": 2, "location": "a", "description": "x"})";
  const std::vector<Pathological> cases = {
      {"1 MB of {", Task::chart, std::string(kMB, '{'), ParseStatus::failed, 0, "no JSON found"},
      {"1 MB of [", Task::chart, std::string(kMB, '['), ParseStatus::failed, 0,
       "invalid JSON at byte 64: nested deeper than 64 levels"},
      {"100k nested lists", Task::table, std::string(100000, '[') + std::string(100000, ']'), ParseStatus::failed, 0,
       "invalid JSON at byte 64: nested deeper than 64 levels"},
      {"100k nested objects", Task::chart, repeat("{\"a\": ", 100000), ParseStatus::failed, 0,
       "invalid JSON at byte 384: nested deeper than 64 levels"},
      {"10 MB string", Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "a", "description": ")" +
           std::string(10 * kMB, 'x') + "\"}]}",
       ParseStatus::repaired, 1, "repaired: 1 text truncated"},
      {"```json without end", Task::svg, "```json", ParseStatus::failed, 0, "no JSON found"},
      {"```json without end, 1 MB of entries", Task::chart, "```json\n{\"errors\": [" + repeat(entry + ",", 13000),
       ParseStatus::repaired, 256, "12744 entries dropped (beyond the first 256 errors); repaired: 1 truncated"},
      {"1 MB of {\"", Task::chart, repeat("{\"", kMB / 2), ParseStatus::failed, 0, "invalid JSON at byte 4"},
      {"1 MB of [{", Task::chart, repeat("[{", kMB / 2), ParseStatus::failed, 0, "invalid JSON at byte 2"},
      {"1 MB of fences", Task::chart, repeat("```", kMB / 3), ParseStatus::failed, 0, "no JSON found"},
      {"1 MB of <think>", Task::chart, repeat("<think>", kMB / 7), ParseStatus::failed, 0, "no JSON found"},
      {"1 MB of </think>", Task::chart, repeat("</think>", kMB / 8), ParseStatus::failed, 0, "no JSON found"},
      {"1 MB of bad escapes", Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "description": ")" + repeat("\\u", kMB / 2),
       ParseStatus::failed, 0, "no valid error entry (output cut off): 1 entry dropped (entry cut off"},
      {"1 MB of invalid UTF-8", Task::table,
       R"({"errors": [{"type": "text_error", "severity": 1, "description": ")" + std::string(kMB, '\xff') + "\"}]}",
       ParseStatus::repaired, 1, "repaired: 1048576 invalid UTF-8, 1 text truncated"},
      {"1 MB of small objects without a list", Task::chart, repeat("{\"a\": 1} ", kMB / 9), ParseStatus::failed, 0,
       "JSON has no error list"},
      {"1 MB of NUL bytes", Task::chart, std::string(kMB, '\0'), ParseStatus::failed, 0, "no JSON found"},
      {"a list of 50k entries", Task::chart, "[" + repeat(entry + ",", 50000) + entry + "]", ParseStatus::repaired, 256,
       "49745 entries dropped (beyond the first 256 errors)"},
      {"10 MB of [[],[],[],...", Task::chart, "[" + repeat("[],", 10 * kMB / 3), ParseStatus::failed, 0,
       "invalid JSON at byte 786430: more than 262144 values"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto start = Clock::now();
    const ParsedCritique p = parse_critic_output(c.task, c.text);
    const double took = seconds_since(start);
    EXPECT_EQ(violation(c.task, p), "");
    EXPECT_EQ(p.report.status, c.status) << p.report.message;
    EXPECT_EQ(p.errors.size(), c.errors);
    EXPECT_TRUE(p.report.message.starts_with(c.message)) << p.report.message;
    EXPECT_LT(took, 10.0);  // generous for ASan on a loaded machine; the point is no quadratic blow-up
    std::printf("%-40s %8zu bytes  %.3f s\n", c.name.c_str(), c.text.size(), took);
  }
}

}  // namespace
}  // namespace visrl::reward
