// build/bin/render_pool_bench: times visrl's RenderPool directly, with per-item timings.
//
//   render_pool_bench --items items.jsonl [--workers N] [--repeat R] [--sequential]
//                     [--png-dir DIR] [--results out.jsonl] [--config FILE] [--set k=v ...]
//   render_pool_bench --items items.jsonl --in-process [--repeat R] [--results out.jsonl]
//
// items.jsonl holds lines {"id", "kind", "text"} as for `render --batch`. The pool is
// started and warmed up (warm_up() of every kind present) before the clock starts, so the
// numbers are those of a long-lived pool, as in training; the warm-up time is printed
// apart. Default mode keeps the queues full (throughput); --sequential submits one item
// and waits for it before the next (latency). --png-dir writes <id>.r<rep>.png for each
// success while timing, on `workers` writer threads, as the reference pipelines write
// their files. --results writes one line per render: {"id", "kind", "rep", "status",
// "reason", "width", "height", "queue_ms", "execute_ms", "total_ms"}.
// --in-process renders SVG and table items right here, one at a time, with no pool, fork or
// sandbox (after the same warm-up as visrl-render-worker): the bare cost of the renderer,
// to tell it from the cost of the isolation. The last line of stdout is "SUMMARY {json}"
// for bench/render/render_bench.py.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/error.h"
#include "render/extract.h"
#include "render/png_io.h"
#include "render/render_pool.h"
#include "render/svg/svg_renderer.h"
#include "render/table/table_renderer.h"

namespace {

using namespace visrl;
using namespace visrl::render;
using Clock = std::chrono::steady_clock;

struct Item {
  std::string id;
  RenderKind kind;
  std::string text;
};

std::vector<Item> read_items(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::io, "{}: cannot open", path);
  std::vector<Item> items;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("kind") || !json.contains("text"))
      fail(ErrorKind::format, "{}:{}: expected {{\"id\", \"kind\", \"text\"}}", path, n);
    const auto kind = parse_render_kind(json["kind"].get<std::string>());
    if (!kind) fail(ErrorKind::format, "{}:{}: unknown kind", path, n);
    items.push_back({json.value("id", fmt::format("line-{}", n)), *kind, json["text"].get<std::string>()});
  }
  if (items.empty()) fail(ErrorKind::format, "{}: no items", path);
  return items;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Writes PNGs on a few threads, so that encoding them does not serialise the benchmark on
// the thread that collects results.
class PngWriters {
 public:
  PngWriters(std::string dir, int threads) : dir_(std::move(dir)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~PngWriters() { finish(); }
  void add(std::string name, RgbImage image) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(name), std::move(image));
    }
    ready_.notify_one();
  }
  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void loop() {
    for (;;) {
      std::pair<std::string, RgbImage> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      write_png(std::filesystem::path(dir_) / job.first, job.second);
    }
  }
  std::string dir_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<std::string, RgbImage>> queue_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

std::string result_line(const Item& item, int rep, const RenderResult& r) {
  return nlohmann::json{{"id", item.id},
                        {"kind", to_string(item.kind)},
                        {"rep", rep},
                        {"status", to_string(r.status)},
                        {"reason", r.reason},
                        {"width", r.image.width},
                        {"height", r.image.height},
                        {"queue_ms", r.timings.queue_ms},
                        {"execute_ms", r.timings.execute_ms},
                        {"total_ms", r.timings.total_ms}}
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

void write_results(const std::string& path, const std::string& results) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::binary);
  out << results;
  if (!out) fail(ErrorKind::io, "{}: cannot write", path);
}

struct Options {
  std::string items;
  int workers = 2;
  int repeat = 1;
  bool sequential = false;
  bool in_process = false;
  std::string png_dir;
  std::string results;
  std::string config;
  std::vector<std::string> overrides;
};

// The renderers called directly: no pool, no fork, no sandbox.
int run_in_process(const Options& opt, const Config& config, const std::vector<Item>& items) {
  const RenderPoolOptions po = pool_options_from(config.render);
  SvgRenderOptions svg;
  svg.width = static_cast<int>(config.render.svg.width);
  svg.height = static_cast<int>(config.render.svg.height);
  svg.max_elements = po.svg_max_elements;
  TableRenderOptions table;
  table.font = po.table_font;
  table.font_size = po.table_font_size;
  table.margin_px = static_cast<int>(po.table_margin_px);
  table.max_cells = po.table_max_cells;
  // The warm-up of visrl-render-worker (render/worker/render_worker_main.cpp).
  render_svg("<svg xmlns='http://www.w3.org/2000/svg' width='40' height='20'><rect width='10' height='10' "
             "fill='red'/><text x='12' y='15' font-size='12'>Ag \xe4\xb8\xad</text></svg>",
             SvgRenderOptions{});
  render_table("| a | `b` |\n|---|:-:|\n| **1** | \xe4\xb8\xad |\n", TableRenderOptions{});
  std::map<std::string, int> counts;
  std::vector<double> ms;
  std::string results;
  const auto start = Clock::now();
  for (int rep = 0; rep < opt.repeat; ++rep) {
    for (const Item& item : items) {
      const auto t0 = Clock::now();
      RenderResult r;
      if (item.kind == RenderKind::svg || item.kind == RenderKind::table) {
        if (auto code = extract_code(item.kind, item.text)) {
          r = item.kind == RenderKind::svg ? render_svg(code->code, svg) : render_table(code->code, table);
        } else {
          r = make_result(RenderStatus::no_code, "no code");
        }
      } else {
        r = make_result(RenderStatus::rejected, "--in-process renders svg and table items only");
      }
      r.timings.execute_ms = r.timings.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      ++counts[std::string(to_string(r.status))];
      if (r.ok()) ms.push_back(r.timings.execute_ms);
      results += result_line(item, rep, r);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  write_results(opt.results, results);
  const size_t total = items.size() * static_cast<size_t>(opt.repeat);
  const nlohmann::json summary = {{"renders", total},
                                  {"seconds", seconds},
                                  {"renders_per_s", total / std::max(seconds, 1e-9)},
                                  {"in_process", true},
                                  {"statuses", counts},
                                  {"median_execute_ms", median(ms)},
                                  {"median_total_ms", median(ms)}};
  std::printf("%zu renders in process in %.3f s (median %.2f ms)\n", total, seconds, median(ms));
  std::printf("SUMMARY %s\n", summary.dump().c_str());
  return 0;
}

int run(const Options& opt) {
  const Config config = load_config(opt.config, opt.overrides).config;
  const std::vector<Item> items = read_items(opt.items);
  if (opt.in_process) return run_in_process(opt, config, items);
  RenderPoolOptions pool_options = pool_options_from(config.render);
  pool_options.workers = opt.workers;
  std::optional<PngWriters> png;
  if (!opt.png_dir.empty()) {
    std::filesystem::create_directories(opt.png_dir);
    png.emplace(opt.png_dir, opt.workers);
  }

  const auto pool_start = Clock::now();
  RenderPool pool(pool_options);
  std::set<RenderKind> kinds;
  for (const auto& item : items) kinds.insert(item.kind);
  for (RenderKind kind : kinds) pool.warm_up(kind);
  const double warmup_s = std::chrono::duration<double>(Clock::now() - pool_start).count();

  struct Pending {
    size_t index;
    int rep;
    std::future<RenderResult> future;
  };
  const size_t total = items.size() * static_cast<size_t>(opt.repeat);
  const size_t window = opt.sequential ? 1 : 4 * static_cast<size_t>(opt.workers);
  std::deque<Pending> pending;
  std::map<std::string, int> counts;
  std::vector<double> execute_ms, total_ms;
  std::string results;

  const auto start = Clock::now();
  size_t next = 0;
  while (next < total || !pending.empty()) {
    while (next < total && pending.size() < window) {
      const size_t index = next % items.size();
      const Item& item = items[index];
      pending.push_back({index, static_cast<int>(next / items.size()),
                         pool.submit(make_request(config.render, item.kind, item.text, item.id))});
      ++next;
    }
    Pending p = std::move(pending.front());
    pending.pop_front();
    RenderResult r = p.future.get();
    const Item& item = items[p.index];
    ++counts[std::string(to_string(r.status))];
    if (r.ok()) {
      execute_ms.push_back(r.timings.execute_ms);
      total_ms.push_back(r.timings.total_ms);
    }
    results += result_line(item, p.rep, r);
    if (r.ok() && png) png->add(fmt::format("{}.r{}.png", item.id, p.rep), std::move(r.image));
  }
  if (png) png->finish();  // every file written before the clock stops
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  pool.shutdown();
  write_results(opt.results, results);
  const nlohmann::json summary = {{"renders", total},
                                  {"seconds", seconds},
                                  {"renders_per_s", total / std::max(seconds, 1e-9)},
                                  {"warmup_s", warmup_s},
                                  {"workers", opt.workers},
                                  {"sequential", opt.sequential},
                                  {"sandbox", sandbox::to_string(pool.isolation())},
                                  {"statuses", counts},
                                  {"median_execute_ms", median(execute_ms)},
                                  {"median_total_ms", median(total_ms)}};
  std::printf("%zu renders in %.2f s (%.1f renders/s, %d workers%s, sandbox %s; warm-up %.2f s apart)\n", total,
              seconds, total / std::max(seconds, 1e-9), opt.workers, opt.sequential ? ", sequential" : "",
              std::string(sandbox::to_string(pool.isolation())).c_str(), warmup_s);
  for (const auto& [status, count] : counts) std::printf("  %-14s %d\n", status.c_str(), count);
  std::printf("SUMMARY %s\n", summary.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"render_pool_bench: time visrl's render pool (warm) on a JSONL batch"};
  Options opt;
  app.add_option("--items", opt.items, "JSONL file of {\"id\", \"kind\", \"text\"} lines")->required();
  app.add_option("--workers", opt.workers, "Pool workers (render.workers)")->check(CLI::PositiveNumber);
  app.add_option("--repeat", opt.repeat, "Render the whole batch this many times")->check(CLI::PositiveNumber);
  app.add_flag("--sequential", opt.sequential, "One item at a time (latency), not a full queue");
  app.add_flag("--in-process", opt.in_process, "SVG/table renderers called directly: no pool, fork or sandbox");
  app.add_option("--png-dir", opt.png_dir, "Write <id>.r<rep>.png for every success");
  app.add_option("--results", opt.results, "Write one JSON line of timings per render");
  app.add_option("--config", opt.config, "visrl YAML config; its render section applies");
  app.add_option("--set", opt.overrides, "Override one key: --set render.sandbox=auto (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run(opt);
  } catch (const visrl::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
