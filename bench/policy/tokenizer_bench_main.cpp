// Encode throughput of visrl's tokenizer, single thread, printed as one JSON line.
//   tokenizer_bench_main --tokenizer tokenizer.json --chunks chunks.json [--rounds 5]
// chunks.json is a JSON array of strings (bench/policy/tokenizer_bench.py writes it and runs
// HF tokenizers on the same chunks). Reports the best round; the first (cold cache) round is
// reported separately.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "policy/tokenizer/tokenizer.h"

namespace {

int run(int argc, char** argv) {
  std::string tokenizer_path, chunks_path;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--tokenizer") {
      tokenizer_path = argv[i + 1];
    } else if (key == "--chunks") {
      chunks_path = argv[i + 1];
    } else if (key == "--rounds") {
      rounds = std::stoi(argv[i + 1]);
    } else {
      visrl::fail(visrl::ErrorKind::usage, "unknown option {}", key);
    }
  }
  if (tokenizer_path.empty() || chunks_path.empty()) {
    visrl::fail(visrl::ErrorKind::usage, "usage: tokenizer_bench_main --tokenizer FILE --chunks FILE [--rounds N]");
  }
  std::ifstream in(chunks_path);
  if (!in) visrl::fail(visrl::ErrorKind::io, "{}: cannot open", chunks_path);
  const auto chunks = nlohmann::json::parse(in).get<std::vector<std::string>>();
  size_t bytes = 0;
  for (const auto& c : chunks) bytes += c.size();

  using clock = std::chrono::steady_clock;
  const auto t_load = clock::now();
  const auto tok = visrl::policy::Tokenizer::from_file(tokenizer_path);
  const double load_s = std::chrono::duration<double>(clock::now() - t_load).count();

  double best = 1e30, cold = 0;
  size_t tokens = 0;
  for (int r = 0; r < rounds + 1; ++r) {
    tokens = 0;
    const auto t0 = clock::now();
    for (const auto& c : chunks) tokens += tok.encode(c).size();
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    if (r == 0) {
      cold = s;
    } else {
      best = std::min(best, s);
    }
  }
  std::printf(
      "%s\n",
      fmt::format(R"({{"impl": "visrl", "bytes": {}, "chunks": {}, "tokens": {}, "seconds": {:.6f}, )"
                  R"("mb_per_s": {:.3f}, "tokens_per_s": {:.0f}, "cold_seconds": {:.6f}, "load_seconds": {:.3f}}})",
                  bytes, chunks.size(), tokens, best, bytes / best / 1e6, tokens / best, cold, load_s)
          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const visrl::Error& e) {
    std::fprintf(stderr, "tokenizer_bench_main: %s\n", e.what());
    return e.exit_code();
  }
}
