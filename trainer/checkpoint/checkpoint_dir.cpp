#include "trainer/checkpoint/checkpoint_dir.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_crc32.h"
#include "core/run_dir.h"
#include "core/text_file.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = "checkpoint.json";
constexpr const char* kFormat = "visrl-checkpoint";
constexpr int kVersion = 1;

std::string hex32(uint32_t v) {
  return fmt::format("{:08x}", v);
}

[[noreturn]] void damaged(const fs::path& dir, const std::string& why) {
  fail(ErrorKind::format, "checkpoint {}: {}", dir.string(), why);
}

nlohmann::json read_manifest(const fs::path& dir) {
  const auto path = dir / kManifest;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    damaged(dir, fmt::format("no {}: the save did not finish, or the directory was copied incompletely", kManifest));
  }
  auto j = nlohmann::json::parse(read_text_file(path, "checkpoint manifest"), nullptr, false);
  if (j.is_discarded() || !j.is_object()) damaged(dir, fmt::format("{} is not valid JSON", kManifest));
  if (j.value("format", "") != kFormat) damaged(dir, fmt::format("{} is not a visrl checkpoint manifest", kManifest));
  if (j.value("version", 0) != kVersion) {
    damaged(dir,
            fmt::format("{} has version {}; this visrl reads version {}", kManifest, j.value("version", 0), kVersion));
  }
  if (!j.contains("files") || !j["files"].is_object() || j["files"].empty()) {
    damaged(dir, fmt::format("{} lists no files", kManifest));
  }
  return j;
}

}  // namespace

fs::path absolute_dir(const fs::path& path) {
  auto out = fs::absolute(path).lexically_normal();
  return out.filename().empty() ? out.parent_path() : out;
}

fs::path checkpoint_path(const fs::path& checkpoints_dir, int64_t step) {
  return checkpoints_dir / fmt::format("step_{}", step);
}

std::optional<int64_t> checkpoint_step(const fs::path& dir) {
  const auto name = dir.filename().string();
  if (name.rfind("step_", 0) != 0 || name.size() == 5 || name.size() > 5 + 18) return std::nullopt;
  int64_t step = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& checkpoints_dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  if (!fs::is_directory(checkpoints_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir)) {
    if (!entry.is_directory()) continue;
    if (auto step = checkpoint_step(entry.path())) out.emplace_back(*step, entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void write_manifest(const fs::path& dir, int64_t step, const std::map<std::string, uint32_t>& known_crc32) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto rel = entry.path().lexically_relative(dir).generic_string();
    if (rel == kManifest) continue;
    const auto known = known_crc32.find(rel);
    const uint32_t crc = known != known_crc32.end() ? known->second : file_crc32(entry.path());
    files[rel] = {{"bytes", entry.file_size()}, {"crc32", hex32(crc)}};
  }
  const nlohmann::json manifest = {{"format", kFormat}, {"version", kVersion}, {"step", step}, {"files", files}};
  write_file_atomically(dir / kManifest, manifest.dump(1) + "\n");
}

void verify_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) damaged(dir, "no such directory");
  const auto manifest = read_manifest(dir);
  for (const char* required : {"trainer_state.json", "config.yaml"}) {
    if (!manifest["files"].contains(required)) damaged(dir, fmt::format("{} does not list {}", kManifest, required));
  }
  // The policy: a Hugging Face directory, or a LoRA policy's adapter directory.
  if (!manifest["files"].contains("model/config.json") && !manifest["files"].contains("model/adapter_config.json")) {
    damaged(dir, fmt::format("{} lists neither model/config.json nor model/adapter_config.json", kManifest));
  }
  for (const auto& [rel, info] : manifest["files"].items()) {
    const auto path = dir / rel;
    if (!fs::is_regular_file(path, ec)) damaged(dir, fmt::format("{} is missing", rel));
    const auto bytes = fs::file_size(path, ec);
    const auto expected = info.value("bytes", uint64_t{0});
    if (bytes != expected) {
      damaged(dir, fmt::format("{} has {} bytes, the checkpoint recorded {} ({})", rel, bytes, expected,
                               bytes < expected ? "truncated" : "overwritten or appended to"));
    }
    const auto crc = hex32(file_crc32(path));
    if (crc != info.value("crc32", "")) {
      damaged(dir, fmt::format("{} is corrupted: its CRC-32 is {}, the checkpoint recorded {}", rel, crc,
                               info.value("crc32", "")));
    }
  }
}

std::optional<fs::path> newest_complete_checkpoint(const fs::path& checkpoints_dir, std::vector<std::string>* skipped) {
  auto all = list_checkpoints(checkpoints_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      verify_checkpoint(it->second);
      return it->second;
    } catch (const Error& e) {
      if (skipped) skipped->push_back(e.what());
    }
  }
  return std::nullopt;
}

fs::path resolve_checkpoint(const fs::path& given) {
  std::error_code ec;
  const auto path = absolute_dir(given);
  if (!fs::exists(path, ec)) fail(ErrorKind::usage, "{}: no such checkpoint or run directory", given.string());
  if (checkpoint_step(path) || fs::exists(path / kManifest, ec)) {
    verify_checkpoint(path);
    return path;
  }
  const auto dir = fs::is_directory(path / "checkpoints", ec) ? path / "checkpoints" : path;
  std::vector<std::string> skipped;
  auto found = newest_complete_checkpoint(dir, &skipped);
  for (const auto& why : skipped) spdlog::warn("skipping a damaged checkpoint: {}", why);
  if (!found) {
    fail(ErrorKind::format, "{}: no complete checkpoint{}", dir.string(),
         skipped.empty() ? "" : fmt::format(" ({} damaged ones skipped)", skipped.size()));
  }
  return *found;
}

void write_latest(const fs::path& checkpoints_dir, int64_t step) {
  write_file_atomically(checkpoints_dir / "latest", checkpoint_path(checkpoints_dir, step).filename().string() + "\n");
}

std::vector<fs::path> prune_checkpoints(const fs::path& checkpoints_dir, int64_t keep_last, int64_t milestone_every) {
  std::vector<fs::path> removed;
  // Leftovers of killed saves and removals first: a step_<N>.deleting would block removing a
  // new step_<N>.
  for (const auto& entry : fs::directory_iterator(checkpoints_dir)) {
    const auto ext = entry.path().extension();
    if (entry.is_directory() && (ext == ".tmp" || ext == ".deleting")) {
      fs::remove_all(entry.path());
      removed.push_back(entry.path());
    }
  }
  const auto all = list_checkpoints(checkpoints_dir);
  const auto keep_from = static_cast<int64_t>(all.size()) - std::max<int64_t>(keep_last, 1);
  for (int64_t i = 0; i < keep_from; ++i) {
    const auto& [step, dir] = all[static_cast<size_t>(i)];
    if (milestone_every > 0 && step % milestone_every == 0) continue;
    // Renamed first so that a kill halfway through the removal never leaves a step_<N> with
    // files missing (it would be reported as damaged at every resume).
    auto doomed = dir;
    doomed += ".deleting";
    fs::rename(dir, doomed);
    fs::remove_all(doomed);
    removed.push_back(dir);
  }
  return removed;
}

std::vector<fs::path> set_aside_newer_checkpoints(const fs::path& checkpoints_dir, int64_t step) {
  std::vector<fs::path> moved;
  fs::path aside;
  for (const auto& [s, dir] : list_checkpoints(checkpoints_dir)) {
    if (s <= step) continue;
    if (aside.empty()) {
      const auto stamp = RunDir::timestamp();
      aside = checkpoints_dir / ("abandoned-" + stamp);
      for (int k = 2; fs::exists(aside); ++k) aside = checkpoints_dir / fmt::format("abandoned-{}-{}", stamp, k);
      fs::create_directories(aside);
    }
    fs::rename(dir, aside / dir.filename());
    moved.push_back(aside / dir.filename());
  }
  if (!moved.empty()) sync_directory(checkpoints_dir);
  return moved;
}

}  // namespace visrl::trainer
