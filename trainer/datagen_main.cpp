// build/bin/datagen: seeded synthetic data sets for the three tasks, rendered through the real
// renderers (trainer/datagen/synthetic.h has the layout).
//
//   datagen --out data/synthetic [--tasks chart,table,svg] [--train 64] [--eval 16] [--seed 0]
//           [--config FILE] [--set render.workers=2 ...]   render settings of a training config
//           [--triples N]   also N (reference, light, heavy) triples per task with annotated
//                           errors, in VC-RewardBench format, under <out>/vc_rewardbench/
//                           (reward/eval/synthetic.h), for evaluating critics
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/program.h"
#include "render/render_pool.h"
#include "reward/eval/synthetic.h"
#include "trainer/datagen/synthetic.h"

namespace {

struct Options {
  std::string out;
  std::string tasks = "chart,table,svg";
  int64_t train = 64;
  int64_t eval = 16;
  uint64_t seed = 0;
  std::string format = "jsonl";
  int triples = 0;
  std::string config;
  std::vector<std::string> overrides;
};

int run(const Options& opt) {
  using namespace visrl;
  const Config config = load_config(opt.config, opt.overrides).config;  // no --config: the defaults
  trainer::datagen::DatasetOptions options;
  options.out = opt.out;
  options.train = opt.train;
  options.eval = opt.eval;
  options.seed = opt.seed;
  options.format =
      opt.format == "parquet" ? trainer::datagen::DatasetFormat::parquet : trainer::datagen::DatasetFormat::jsonl;
  options.tasks.clear();
  size_t start = 0;
  while (start <= opt.tasks.size()) {
    auto end = opt.tasks.find(',', start);
    if (end == std::string::npos) end = opt.tasks.size();
    const auto name = opt.tasks.substr(start, end - start);
    const auto kind = render::parse_render_kind(name);
    if (!kind) fail(ErrorKind::usage, "--tasks: unknown task \"{}\" (chart, table or svg)", name);
    options.tasks.push_back(*kind);
    start = end + 1;
  }
  render::RenderPool pool(render::pool_options_from(config.render));
  for (const auto& c : trainer::datagen::write_synthetic_dataset(options, pool, config.render)) {
    const auto dir = options.out / std::string(render::to_string(c.task));
    const char* ext = options.format == trainer::datagen::DatasetFormat::parquet ? "parquet" : "jsonl";
    std::cout << fmt::format("{}: {} train + {} eval items in {:.1f} s -> {}/train.{}, eval.{}\n",
                             render::to_string(c.task), c.train, c.eval, c.seconds, dir.string(), ext, ext);
  }
  pool.shutdown();
  if (opt.triples > 0) {
    const auto dir = options.out / "vc_rewardbench";
    bool append = false;
    for (const auto task : options.tasks) {
      reward::eval::TripleWriteOptions write;
      write.append = append;
      append = true;
      const auto path =
          reward::eval::write_triples(dir, reward::eval::generate_triples(task, opt.triples, opt.seed), write);
      std::cout << fmt::format("{}: {} triples (light and heavy corruptions) -> {}\n", render::to_string(task),
                               opt.triples, path.string());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl datagen: seeded synthetic chart, table and SVG data sets"};
  Options opt;
  app.add_option("--out", opt.out, "Output directory")->required();
  app.add_option("--tasks", opt.tasks, "Comma-separated tasks: chart, table, svg");
  app.add_option("--train", opt.train, "Training items per task")->check(CLI::NonNegativeNumber);
  app.add_option("--eval", opt.eval, "Held-out items per task")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", opt.seed, "Seed: the same seed gives the same items");
  app.add_option("--format", opt.format,
                 "jsonl: manifests + PNG files; parquet: train.parquet / eval.parquet in verl's layout, images inside")
      ->check(CLI::IsMember({"jsonl", "parquet"}));
  app.add_option("--triples", opt.triples, "Also write N critic-evaluation triples per task (VC-RewardBench format)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--config", opt.config, "A training config whose render settings to use");
  app.add_option("--set", opt.overrides, "Override one key, e.g. --set render.workers=2 (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
