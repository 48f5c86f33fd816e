// Random corruptions of valid safetensors files must never crash the parser: each mutant is
// either rejected with a visrl::Error or accepted with every tensor inside the file. Built
// with AddressSanitizer and UBSan (see tests/CMakeLists.txt), with allocations capped so that
// a header claiming a huge size cannot make the parser allocate it.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/error.h"
#include "core/safetensors_format.h"

namespace visrl::safetensors {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A second valid file with several dtypes and metadata, made by our own serializer.
std::string our_file() {
  std::vector<std::vector<uint8_t>> data = {std::vector<uint8_t>(24, 7), std::vector<uint8_t>(6, 1),
                                            std::vector<uint8_t>(0), std::vector<uint8_t>(16, 9)};
  std::vector<TensorBytes> tensors = {{"a.weight", Dtype::F32, {2, 3}, data[0]},
                                      {"mask", Dtype::BOOL, {6}, data[1]},
                                      {"empty", Dtype::BF16, {0, 5}, data[2]},
                                      {"b", Dtype::I64, {2}, data[3]}};
  std::string out = serialize_header(tensors, {{"format", "pt"}});
  for (const auto& d : data) out.append(d.begin(), d.end());
  return out;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string s) {
    const int rounds = 1 + pick(3);
    for (int r = 0; r < rounds; ++r) apply(s);
    return s;
  }

 private:
  size_t pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // Position inside the JSON header when there is one, so most mutations hit the parser.
  size_t header_pos(const std::string& s) {
    uint64_t n = 0;
    if (s.size() >= 8) std::memcpy(&n, s.data(), 8);
    size_t end = std::min<size_t>(s.size(), 8 + std::min<uint64_t>(n, s.size()));
    return end > 8 && pick(4) != 0 ? 8 + pick(end - 8) : pick(s.size() + 1);
  }

  void apply(std::string& s) {
    static const std::vector<std::string> tokens = {"{",
                                                    "}",
                                                    "[",
                                                    "]",
                                                    "\"",
                                                    ",",
                                                    ":",
                                                    "-1",
                                                    "0",
                                                    "18446744073709551615",
                                                    "9223372036854775807",
                                                    "1e309",
                                                    "null",
                                                    "true",
                                                    "\"F32\"",
                                                    "\"BOOL\"",
                                                    "\"dtype\"",
                                                    "\"shape\"",
                                                    "\"data_offsets\"",
                                                    "\"__metadata__\"",
                                                    "\\u0000",
                                                    "\xff",
                                                    "\xc3\x28",
                                                    std::string(1, '\0')};
    const size_t pos = header_pos(s);
    switch (pick(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:  // overwrite a byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(pick(256));
        break;
      case 2:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 3:  // append garbage
        s.append(pick(64), static_cast<char>(pick(256)));
        break;
      case 4:  // insert a JSON token
        if (pos <= s.size()) s.insert(pos, tokens[pick(tokens.size())]);
        break;
      case 5:  // delete a span
        if (pos < s.size()) s.erase(pos, 1 + pick(16));
        break;
      case 6: {  // rewrite the header length
        uint64_t n = 0;
        if (s.size() >= 8) std::memcpy(&n, s.data(), 8);
        const uint64_t choices[] = {0, 1, n - 1, n + 1, n * 2, s.size(), UINT64_MAX, 1ull << 40, 100'000'000};
        n = choices[pick(9)];
        if (s.size() >= 8) std::memcpy(s.data(), &n, 8);
        break;
      }
      case 7: {  // replace a digit run with an extreme number
        size_t d = s.find_first_of("0123456789", pos);
        if (d != std::string::npos && d >= 8) {
          size_t e = s.find_first_not_of("0123456789", d);
          s.replace(d, (e == std::string::npos ? s.size() : e) - d, tokens[8 + pick(4)]);
        }
        break;
      }
      case 8: {  // duplicate a span of the header (duplicate keys, nested objects)
        if (pos < s.size()) {
          std::string span = s.substr(pos, 1 + pick(40));
          s.insert(std::min(s.size(), pos + span.size()), span);
        }
        break;
      }
    }
  }

  std::mt19937_64 rng_;
};

TEST(SafetensorsMutation, TenThousandCorruptionsNeverCrash) {
  const std::vector<std::string> seeds = {
      read_file(VISRL_SOURCE_DIR "/tests/fixtures/safetensors/all_dtypes.safetensors"), our_file()};
  ASSERT_GT(seeds[0].size(), 100u);
  Mutator mutator(20261121);
  int accepted = 0, rejected = 0;
  const int kMutants = 12000;
  for (int i = 0; i < kMutants; ++i) {
    const std::string bytes = mutator.mutate(seeds[i % seeds.size()]);
    // Copy into an exactly sized heap buffer so ASan flags any read past the end.
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[bytes.size() + 1]);
    std::memcpy(buffer.get(), bytes.data(), bytes.size());
    std::span<const uint8_t> file(buffer.get(), bytes.size());
    try {
      Header h = parse_header(file, "mutant");
      ++accepted;
      // Accepted: every tensor lies inside the file; touching all bytes lets ASan check it.
      uint64_t checksum = 0;
      for (const auto& t : h.tensors) {
        ASSERT_LE(t.begin, t.end);
        ASSERT_LE(h.data_start + t.end, bytes.size());
        for (uint64_t b = t.begin; b < t.end; ++b) checksum += file[h.data_start + b];
        ASSERT_EQ(h.find(t.name), &t);
      }
      (void)checksum;
    } catch (const Error& e) {
      ++rejected;
      ASSERT_EQ(e.kind(), ErrorKind::format) << e.what();
      ASSERT_EQ(std::string(e.what()).rfind("mutant: ", 0), 0u) << e.what();
    }
    // Any other exception type escapes and fails the test; a crash fails the process.
  }
  EXPECT_EQ(accepted + rejected, kMutants);
  EXPECT_GT(rejected, kMutants / 2);
  EXPECT_GT(accepted, 10);  // some mutations (e.g. in data bytes) keep the file valid
  std::printf("mutants: %d accepted, %d rejected\n", accepted, rejected);
}

}  // namespace
}  // namespace visrl::safetensors
