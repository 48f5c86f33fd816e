// Random corruptions of valid Parquet files must never crash the reader: each mutant is either
// rejected with a visrl::Error naming it or read to the end, every column of every row. Built
// with AddressSanitizer and UBSan around core/parquet_rows.cpp (see tests/CMakeLists.txt); Arrow
// itself is the pyarrow wheel's release build, run with its system allocator so that ASan sees
// and caps its allocations: a footer claiming a huge size must fail, not allocate it.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/parquet_rows.h"

namespace visrl::parquet {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string s) {
    const int rounds = 1 + static_cast<int>(pick(3));
    for (int r = 0; r < rounds; ++r) apply(s);
    return s;
  }

 private:
  size_t pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // Half of the mutations land in the footer (the Thrift metadata and its length), where a
  // reader decides how much to read and allocate; the rest anywhere (pages, page headers).
  size_t position(const std::string& s) {
    if (s.size() < 12) return pick(s.size() + 1);
    uint32_t footer = 0;
    std::memcpy(&footer, s.data() + s.size() - 8, 4);
    const size_t start = footer + 8 < s.size() ? s.size() - 8 - footer : 0;
    return pick(2) == 0 ? start + pick(s.size() - start) : pick(s.size());
  }

  void apply(std::string& s) {
    const size_t pos = position(s);
    switch (pick(8)) {
      case 0:  // flip a bit
        if (pos < s.size()) s[pos] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:  // overwrite a byte
        if (pos < s.size()) s[pos] = static_cast<char>(pick(256));
        break;
      case 2:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 3:  // delete a span
        if (pos < s.size()) s.erase(pos, 1 + pick(16));
        break;
      case 4:  // duplicate a span
        if (pos < s.size()) s.insert(pos, s.substr(pos, 1 + pick(32)));
        break;
      case 5: {  // an extreme 32-bit value (lengths, counts, offsets)
        const uint32_t values[] = {0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 1u << 20, 255};
        const uint32_t v = values[pick(7)];
        if (pos + 4 <= s.size()) std::memcpy(s.data() + pos, &v, 4);
        break;
      }
      case 6: {  // rewrite the footer length
        if (s.size() >= 8) {
          const uint32_t values[] = {
              0, 1, static_cast<uint32_t>(s.size()), static_cast<uint32_t>(s.size() - 9), 0xffffffff, 1u << 30};
          const uint32_t v = values[pick(6)];
          std::memcpy(s.data() + s.size() - 8, &v, 4);
        }
        break;
      }
      case 7:  // a Thrift varint made huge: set the continuation bits of a run of bytes
        for (size_t k = pos; k < std::min(s.size(), pos + 1 + pick(8)); ++k) s[k] = static_cast<char>(s[k] | 0x80);
        break;
    }
  }

  std::mt19937_64 rng_;
};

// Every row of every column, as the loader would read them.
int64_t read_everything(const std::string& bytes, const std::string& name) {
  auto reader = RowReader::open_buffer(bytes, name);
  int64_t rows = 0;
  reader->scan(reader->columns(), 2, [&](int64_t, std::vector<nlohmann::json>& batch) {
    rows += static_cast<int64_t>(batch.size());
    for (const auto& row : batch) (void)row.dump();  // touch every value
  });
  return rows;
}

TEST(ParquetMutation, ThreeThousandCorruptionsNeverCrash) {
  const std::vector<std::string> seeds = {read_file(VISRL_SOURCE_DIR "/tests/fixtures/parquet/verl.parquet"),
                                          read_file(VISRL_SOURCE_DIR "/tests/fixtures/parquet/hf.parquet")};
  for (const auto& s : seeds) {
    ASSERT_GT(s.size(), 1000u);
    EXPECT_GT(read_everything(s, "seed"), 0);  // the seeds themselves read
  }
  Mutator mutator(20261206);
  int accepted = 0, rejected = 0;
  const int kMutants = 3000;
  for (int i = 0; i < kMutants; ++i) {
    const std::string bytes = mutator.mutate(seeds[static_cast<size_t>(i) % seeds.size()]);
    const auto name = "mutant-" + std::to_string(i);
    try {
      read_everything(bytes, name);
      ++accepted;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      ++rejected;
    }
  }
  // Most mutants must be caught; some (a flipped bit inside a value) read fine.
  EXPECT_EQ(accepted + rejected, kMutants);
  EXPECT_GT(rejected, kMutants / 4);
  std::printf("%d mutants: %d read, %d rejected with an error\n", kMutants, accepted, rejected);
}

}  // namespace
}  // namespace visrl::parquet
