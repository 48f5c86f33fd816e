// build/bin/export: a training checkpoint's policy as a plain Hugging Face model directory,
// ready for transformers or vLLM.
//
//   export --checkpoint runs/x/checkpoints/step_300 --out models/chart2code-300
//   export --checkpoint runs/x --out DIR          the newest complete checkpoint of a run
//   export ... --dtype bfloat16 --max-shard-mb 5000 --overwrite
//   export --checkpoint runs/x --out DIR --merge-lora   a LoRA run's adapters merged into the base
//                                                        (without it: the adapter directory)
//
// Exit codes: 0 success, 1 a damaged checkpoint or a runtime failure, 2 usage errors.
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/program.h"
#include "policy/model/hf_checkpoint.h"
#include "trainer/checkpoint/export_model.h"

namespace {

struct Options {
  std::string checkpoint;
  std::string out;
  std::string dtype;
  int64_t max_shard_mb = 5000;
  bool overwrite = false;
  bool merge_lora = false;
};

int run(const Options& opt) {
  using namespace visrl;
  trainer::ExportOptions options;
  if (!opt.dtype.empty()) options.dtype = policy::dtype_from_name(opt.dtype, "--dtype");
  options.max_shard_bytes = static_cast<uint64_t>(opt.max_shard_mb) << 20;
  options.overwrite = opt.overwrite;
  options.merge_lora = opt.merge_lora;
  const auto r = trainer::export_checkpoint(opt.checkpoint, opt.out, options);
  const auto step = r.step >= 0 ? fmt::format(" (step {})", r.step) : std::string();
  const auto what = r.merged ? "LoRA merged into the base, " : r.lora ? "a LoRA adapter on its base, " : "";
  std::cout << fmt::format("exported {}{} to {}: {}{} tensors, {:.1f} MB of safetensors\n", r.checkpoint.string(), step,
                           opt.out, what, r.tensors, static_cast<double>(r.bytes) / (1 << 20));
  if (r.lora && !r.merged) std::cout << "(pass --merge-lora for a plain model with the adapters merged in)\n";
  if (!r.has_chat_template) {
    std::cerr << "warning: the model has no chat template (chat_template.jinja or tokenizer_config.json's "
                 "chat_template); serving it needs one\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl export: a checkpoint's policy as a Hugging Face model directory"};
  Options opt;
  app.add_option("--checkpoint", opt.checkpoint, "A checkpoint (step_<N>) or a run directory (its newest complete one)")
      ->required();
  app.add_option("--out", opt.out, "The model directory to write")->required();
  app.add_option("--dtype", opt.dtype, "bfloat16 | float16 | float32 (default: as trained)");
  app.add_option("--max-shard-mb", opt.max_shard_mb, "Largest safetensors shard")->check(CLI::PositiveNumber);
  app.add_flag("--overwrite", opt.overwrite, "Replace --out when it exists and is not empty");
  app.add_flag("--merge-lora", opt.merge_lora, "Merge a LoRA checkpoint's adapters into its base: a plain model");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
