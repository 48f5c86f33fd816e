// build/bin/render: renders policy answers in the sandbox.
//
//   render --kind chart|table|svg FILE -o out.png     one answer; exit 0 if it rendered
//   render --batch items.jsonl --out-dir DIR          lines {"id", "kind", "text"}; writes
//       DIR/<id>.png for successes and DIR/results.jsonl ({"id", "status", "reason", "ms"}),
//       prints the count per status and renders/s; exit 0 when the batch ran
//   --config FILE / --set key=value                   the render section of a visrl config
//
// Exit codes: 0 success, 1 the single answer did not render or a runtime failure, 2 usage
// or configuration error.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/program.h"
#include "core/text_file.h"
#include "render/png_io.h"
#include "render/render_pool.h"

namespace {

using namespace visrl;
using namespace visrl::render;

struct Options {
  std::string config;
  std::vector<std::string> overrides;
  std::string kind;
  std::string file;
  std::string output;
  std::string batch;
  std::string out_dir;
};

RenderKind kind_or_fail(const std::string& name, const std::string& where) {
  auto kind = parse_render_kind(name);
  if (!kind) fail(ErrorKind::usage, "{}: kind must be chart, table or svg, got \"{}\"", where, name);
  return *kind;
}

int render_one(const Options& opt, const Config& config) {
  if (opt.output.empty()) fail(ErrorKind::usage, "--kind needs -o out.png");
  RenderPool pool(pool_options_from(config.render));
  const RenderKind kind = kind_or_fail(opt.kind, "--kind");
  const RenderResult result =
      pool.render(make_request(config.render, kind, read_text_file(opt.file, "the answer"), opt.file));
  std::printf("%s: %s %.1f ms%s%s\n", opt.file.c_str(), std::string(to_string(result.status)).c_str(),
              result.timings.total_ms, result.reason.empty() ? "" : " - ", result.reason.c_str());
  if (!result.ok()) return 1;
  write_png(opt.output, result.image);
  return 0;
}

// A file name for an id: ids come from data files, so no separators or dot-dot.
bool safe_id(const std::string& id) {
  if (id.empty() || id.size() > 200 || id == "." || id == "..") return false;
  for (unsigned char c : id) {
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// One input line on its way through the pool.
struct BatchItem {
  size_t index = 0;
  std::string id;
  std::future<RenderResult> result;
};

// The submitted items, consumed in order by the writer threads while the reader submits
// more: images are written (and freed) as they arrive, so a batch of any length needs only
// the memory of the items in flight.
class BatchQueue {
 public:
  void push(BatchItem item) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(item));
    }
    ready_.notify_one();
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }
  std::optional<BatchItem> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    BatchItem item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<BatchItem> items_;
  bool closed_ = false;
};

int render_batch(const Options& opt, const Config& config) {
  if (opt.out_dir.empty()) fail(ErrorKind::usage, "--batch needs --out-dir DIR");
  std::ifstream in(opt.batch);
  if (!in) fail(ErrorKind::io, "{}: cannot open", opt.batch);
  const std::filesystem::path out_dir(opt.out_dir);
  std::filesystem::create_directories(out_dir);

  RenderPool pool(pool_options_from(config.render));
  const auto start = std::chrono::steady_clock::now();
  BatchQueue queue;
  std::mutex results_mutex;
  std::vector<std::string> lines;  // results.jsonl, in input order
  std::map<std::string, int> counts;
  std::vector<std::thread> writers;
  // PNG encoding (zlib) costs about as much as an SVG render: one writer per render worker.
  for (int w = 0; w < std::max<int>(1, static_cast<int>(config.render.workers)); ++w) {
    writers.emplace_back([&] {
      while (auto item = queue.pop()) {
        RenderResult r = item->result.get();
        std::string failure;
        if (r.ok()) {
          try {
            write_png(out_dir / (item->id + ".png"), r.image);
          } catch (const std::exception& e) {
            failure = e.what();  // reported in the summary; the batch goes on
          }
        }
        std::string line = nlohmann::json{
            {"id", item->id},
            {"status", to_string(r.status)},
            {"reason", failure.empty() ? r.reason : failure},
            {"ms", std::round(r.timings.total_ms * 10) /
                       10}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::lock_guard lock(results_mutex);
        if (lines.size() <= item->index) lines.resize(item->index + 1);
        lines[item->index] = std::move(line);
        ++counts[std::string(to_string(r.status))];
        if (!failure.empty()) spdlog::error("{}", failure);
      }
    });
  }

  std::string line;
  size_t count = 0;
  std::set<std::string> seen_ids;  // two items must not write the same PNG
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", opt.batch, line_number);
    BatchItem item{count++, fmt::format("line-{}", line_number), {}};
    try {
      const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded()) fail(ErrorKind::format, "{}: not valid JSON", where);
      if (!json.is_object()) fail(ErrorKind::format, "{}: expected a JSON object", where);
      if (json.contains("id")) {
        item.id = json["id"].is_string() ? json["id"].get<std::string>() : json["id"].dump();
        if (!safe_id(item.id))
          fail(ErrorKind::format, "{}: id \"{}\" is not a safe file name ([A-Za-z0-9._-])", where, item.id);
      }
      if (!json.contains("kind") || !json["kind"].is_string())
        fail(ErrorKind::format, "{}: \"kind\" (a string) is missing", where);
      if (!json.contains("text") || !json["text"].is_string())
        fail(ErrorKind::format, "{}: \"text\" (a string) is missing", where);
      const RenderKind kind = kind_or_fail(json["kind"].get<std::string>(), where);
      if (!seen_ids.insert(item.id).second) fail(ErrorKind::format, "{}: duplicate id \"{}\"", where, item.id);
      item.result = pool.submit(make_request(config.render, kind, json["text"].get<std::string>(), item.id));
    } catch (const std::exception& e) {
      // A bad line is reported in results.jsonl, not fatal: the rest of the batch runs.
      std::promise<RenderResult> failed;
      failed.set_value(make_result(RenderStatus::rejected, e.what()));
      item.result = failed.get_future();
    }
    queue.push(std::move(item));
  }
  queue.close();
  for (auto& writer : writers) writer.join();

  std::string results;
  for (const auto& l : lines) results += l + "\n";
  write_file_atomically(out_dir / "results.jsonl", results);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu items in %.2f s (%.1f renders/s, %d workers, sandbox %s)\n", count, seconds,
              count / std::max(seconds, 1e-9), static_cast<int>(config.render.workers),
              std::string(sandbox::to_string(pool.isolation())).c_str());
  for (const auto& [status, n] : counts) std::printf("  %-14s %d\n", status.c_str(), n);
  return 0;
}

int run(const Options& opt) {
  const Config config = load_config(opt.config, opt.overrides).config;
  if (!opt.batch.empty()) return render_batch(opt, config);
  if (opt.kind.empty() || opt.file.empty()) fail(ErrorKind::usage, "give --kind KIND FILE -o out.png, or --batch");
  return render_one(opt, config);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl render: render policy answers (charts, tables, SVG) in the sandbox"};
  Options opt;
  app.add_option("--config", opt.config, "visrl YAML config; its render section applies");
  app.add_option("--set", opt.overrides, "Override one key: --set render.workers=4 (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--kind", opt.kind, "chart, table or svg (single-answer mode)");
  app.add_option("file", opt.file, "The answer to render (single-answer mode)");
  app.add_option("-o,--output", opt.output, "PNG to write (single-answer mode)");
  app.add_option("--batch", opt.batch, "JSONL file of {\"id\", \"kind\", \"text\"} lines");
  app.add_option("--out-dir", opt.out_dir, "Directory for <id>.png and results.jsonl (batch mode)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
