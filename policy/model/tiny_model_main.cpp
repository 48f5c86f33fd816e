// build/bin/tiny-model: writes a tiny random Qwen3-VL checkpoint directory (see tiny_model.h).
//
//   tiny-model --out DIR [--tokenizer DIR] [--seed S] [--layers N] [--hidden H] [--dtype float32|bfloat16]
//
// Exit codes: 0 written, 1 runtime failure, 2 usage or configuration error.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/program.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/tiny_model.h"

int main(int argc, char** argv) {
  CLI::App app{"visrl tiny-model: write a tiny random Qwen3-VL checkpoint directory"};
  std::string out;
  std::string tokenizer = std::string(VISRL_SOURCE_DIR) + "/tests/fixtures/tokenizer/tiny";
  std::string dtype = "float32";
  visrl::policy::TinyModelOptions options;
  app.add_option("--out", out, "Checkpoint directory to write")->required();
  app.add_option("--tokenizer", tokenizer, "Directory with tokenizer.json and tokenizer_config.json")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Weight seed")->capture_default_str();
  app.add_option("--layers", options.num_layers, "Text decoder layers")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--hidden", options.hidden_size, "Text hidden size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--vision-depth", options.vision_depth, "Vision encoder blocks")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--vision-hidden", options.vision_hidden_size, "Vision encoder width (a multiple of its 2 heads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--dtype", dtype, "float32 or bfloat16")
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] {
    options.tokenizer_dir = tokenizer;
    options.dtype = visrl::policy::dtype_from_name(dtype, "--dtype");
    visrl::policy::save_tiny_model(out, options);
    std::printf("wrote %s\n", out.c_str());
    return 0;
  });
}
