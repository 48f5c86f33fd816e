// Readers for tests/fixtures/tokenizer (written by its generate.py from HF tokenizers/transformers).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace visrl::policy::test {

inline std::filesystem::path fixture_dir() {
  return std::filesystem::path(VISRL_SOURCE_DIR) / "tests/fixtures/tokenizer";
}

// The real Qwen tokenizer: the shared data fixture beside the source tree
// (<source dir>/../shared/fixtures/qwen-tokenizer, never a fixed machine path), or the
// directory VISRL_QWEN_TOKENIZER_DIR names. The tests that need it skip, naming this path,
// when it is absent.
inline std::filesystem::path qwen_tokenizer_json() {
  if (const char* dir = std::getenv("VISRL_QWEN_TOKENIZER_DIR")) return std::filesystem::path(dir) / "tokenizer.json";
  return (std::filesystem::path(VISRL_SOURCE_DIR) / "../shared/fixtures/qwen-tokenizer/tokenizer.json")
      .lexically_normal();
}

inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

inline std::vector<std::string> read_corpus() {
  std::vector<std::string> out;
  for (const auto& row : read_jsonl(fixture_dir() / "corpus.jsonl")) out.push_back(row.get<std::string>());
  return out;
}

}  // namespace visrl::policy::test
