#include "reward/formula/rollout_record.h"

#include <algorithm>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "core/error.h"

namespace visrl::reward {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, std::string_view key, std::string_view what) {
  fail(ErrorKind::format, "{}: {}: {}", where, key, what);
}

const json& member(const json& obj, const char* key, const std::string& where, std::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(where, fmt::format("{}{}", path, key), "missing");
  return *it;
}

std::string get_string(const json& obj, const char* key, const std::string& where, std::string_view path = "") {
  const json& v = member(obj, key, where, path);
  if (!v.is_string()) bad(where, fmt::format("{}{}", path, key), "expected a string");
  return v.get<std::string>();
}

std::string opt_string(const json& obj, const char* key, const std::string& where, std::string_view path = "") {
  return obj.contains(key) ? get_string(obj, key, where, path) : std::string();
}

int64_t get_int(const json& obj, const char* key, const std::string& where, std::string_view path = "") {
  const json& v = member(obj, key, where, path);
  if (!v.is_number_integer()) bad(where, fmt::format("{}{}", path, key), "expected an integer");
  return v.get<int64_t>();
}

std::optional<double> opt_number(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) bad(where, key, "expected a number");
  return it->get<double>();
}

const json& get_object(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where, "");
  if (!v.is_object()) bad(where, key, "expected an object");
  return v;
}

}  // namespace

nlohmann::json errors_to_json(const std::vector<CriticError>& errors) {
  json out = json::array();
  for (const auto& e : errors)
    out.push_back(
        {{"category", e.category}, {"severity", e.severity}, {"location", e.location}, {"description", e.description}});
  return out;
}

nlohmann::json to_json(const RolloutRecord& r) {
  json errors = errors_to_json(r.critic.errors);
  json j = {
      {"step", r.step},
      {"id", r.sample.id},
      {"prompt_id", r.sample.group},
      {"task", std::string(render::to_string(r.sample.task))},
      {"answer", r.answer},
      {"response_len", r.sample.response_len},
      {"max_len", r.sample.max_len},
      {"render", {{"status", std::string(render::to_string(r.sample.render_status))}, {"reason", r.render_reason}}},
      {"critic",
       {{"status", std::string(to_string(r.critic.status))},
        {"errors", std::move(errors)},
        {"raw", r.critic.raw_text},
        {"parse",
         {{"status", std::string(to_string(r.critic.parse.status))},
          {"dropped", r.critic.parse.dropped},
          {"repairs", r.critic.parse.repairs},
          {"message", r.critic.parse.message}}},
        {"attempts", r.critic.attempts},
        {"latency_ms", r.critic.latency_ms},
        {"message", r.critic.message}}},
  };
  if (r.sample.answer_code) j["answer_code"] = *r.sample.answer_code;
  if (r.sample.reference_code) j["ground_truth"] = *r.sample.reference_code;
  if (r.sample.ssim) j["ssim"] = *r.sample.ssim;
  if (r.mse) j["mse"] = *r.mse;
  if (r.reward) j["reward"] = *r.reward;
  if (!r.components.empty()) j["components"] = r.components;
  if (r.advantage) j["advantage"] = *r.advantage;
  return j;
}

RolloutRecord rollout_record_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::format, "{}: expected a JSON object per line", where);
  RolloutRecord r;
  r.step = get_int(j, "step", where);
  r.sample.id = get_string(j, "id", where);
  r.sample.group = get_string(j, "prompt_id", where);
  const std::string task = get_string(j, "task", where);
  auto kind = render::parse_render_kind(task);
  if (!kind) bad(where, "task", fmt::format("expected chart, table or svg, got \"{}\"", task));
  r.sample.task = *kind;
  r.answer = opt_string(j, "answer", where);
  r.sample.response_len = get_int(j, "response_len", where);
  r.sample.max_len = get_int(j, "max_len", where);

  const json& render = get_object(j, "render", where);
  const std::string render_status = get_string(render, "status", where, "render.");
  auto rs = render::parse_render_status(render_status);
  if (!rs) bad(where, "render.status", fmt::format("unknown render status \"{}\"", render_status));
  r.sample.render_status = *rs;
  r.render_reason = opt_string(render, "reason", where, "render.");

  const json& critic = get_object(j, "critic", where);
  const std::string critic_status = get_string(critic, "status", where, "critic.");
  auto cs = parse_critic_status(critic_status);
  if (!cs) bad(where, "critic.status", fmt::format("unknown critic status \"{}\"", critic_status));
  r.critic.status = *cs;
  const json& errors = member(critic, "errors", where, "critic.");
  if (!errors.is_array()) bad(where, "critic.errors", "expected a list");
  for (size_t k = 0; k < errors.size(); ++k) {
    const std::string path = fmt::format("critic.errors[{}].", k);
    const json& e = errors[k];
    if (!e.is_object()) bad(where, path, "expected an object");
    CriticError err;
    err.category = get_string(e, "category", where, path);
    err.severity = static_cast<int>(get_int(e, "severity", where, path));
    if (err.severity < 1 || err.severity > 3) bad(where, path + "severity", "expected 1, 2 or 3");
    if (!is_category(r.sample.task, err.category))
      bad(where, path + "category", fmt::format("\"{}\" is not a {} category", err.category, task));
    err.location = opt_string(e, "location", where, path);
    err.description = opt_string(e, "description", where, path);
    r.critic.errors.push_back(std::move(err));
  }
  r.critic.raw_text = opt_string(critic, "raw", where, "critic.");
  if (auto it = critic.find("parse"); it != critic.end() && it->is_object()) {
    auto ps = parse_parse_status(opt_string(*it, "status", where, "critic.parse."));
    if (ps) r.critic.parse.status = *ps;
    r.critic.parse.message = opt_string(*it, "message", where, "critic.parse.");
    if (it->contains("dropped"))
      r.critic.parse.dropped = static_cast<int>(get_int(*it, "dropped", where, "critic.parse."));
    if (it->contains("repairs"))
      r.critic.parse.repairs = static_cast<int>(get_int(*it, "repairs", where, "critic.parse."));
  }
  if (critic.contains("attempts")) r.critic.attempts = static_cast<int>(get_int(critic, "attempts", where, "critic."));
  if (auto v = opt_number(critic, "latency_ms", where)) r.critic.latency_ms = *v;
  r.critic.message = opt_string(critic, "message", where, "critic.");
  r.sample.critic_status = r.critic.status;
  r.sample.errors = r.critic.errors;

  if (j.contains("answer_code")) r.sample.answer_code = get_string(j, "answer_code", where);
  if (j.contains("ground_truth") && !j["ground_truth"].is_null())
    r.sample.reference_code = get_string(j, "ground_truth", where);
  r.sample.ssim = opt_number(j, "ssim", where);
  r.mse = opt_number(j, "mse", where);
  r.reward = opt_number(j, "reward", where);
  r.advantage = opt_number(j, "advantage", where);
  if (auto it = j.find("components"); it != j.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_number()) r.components[k] = v.get<double>();
  return r;
}

std::vector<RolloutRecord> read_rollouts(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::vector<std::pair<int64_t, fs::path>> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    static const std::regex name(R"(step_(\d+)\.jsonl)");
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      std::smatch m;
      const std::string file = entry.path().filename().string();
      if (std::regex_match(file, m, name)) files.emplace_back(std::stoll(m[1]), entry.path());
    }
    if (ec) fail(ErrorKind::io, "{}: cannot list the directory: {}", path.string(), ec.message());
    if (files.empty()) fail(ErrorKind::io, "{}: no step_<N>.jsonl rollout files", path.string());
    std::sort(files.begin(), files.end());
  } else {
    files.emplace_back(0, path);
  }
  std::vector<RolloutRecord> records;
  for (const auto& [step, file] : files) {
    std::ifstream in(file);
    if (!in) fail(ErrorKind::io, "{}: cannot open", file.string());
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = fmt::format("{}:{}", file.string(), number);
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) fail(ErrorKind::format, "{}: not valid JSON", where);
      records.push_back(rollout_record_from_json(j, where));
    }
  }
  return records;
}

}  // namespace visrl::reward
