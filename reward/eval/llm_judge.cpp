#include "reward/eval/llm_judge.h"

#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "reward/openai/chat_protocol.h"
#include "reward/openai/curl_transfer.h"

namespace visrl::reward::eval {
namespace {

std::string numbered(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += fmt::format("{}. {}\n", i + 1, lines[i]);
  return out;
}

// The first balanced {...} of `text` that parses as JSON, or nullopt.
std::optional<nlohmann::json> first_json_object(std::string_view text) {
  for (size_t start = text.find('{'); start != std::string_view::npos; start = text.find('{', start + 1)) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = start; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (escaped)
          escaped = false;
        else if (c == '\\')
          escaped = true;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) {
        try {
          return nlohmann::json::parse(text.substr(start, i - start + 1));
        } catch (const nlohmann::json::exception&) {
          break;
        }
      }
    }
  }
  return std::nullopt;
}

std::string request_body(const JudgeOptions& options, const std::string& prompt) {
  return nlohmann::json{{"model", options.model},
                        {"messages", {{{"role", "user"}, {"content", prompt}}}},
                        {"temperature", 0},
                        {"max_tokens", options.max_tokens}}
      .dump();
}

}  // namespace

std::string judge_prompt(const JudgeGroup& g) {
  std::vector<std::string> human, predicted;
  for (const auto& e : g.human)
    human.push_back(fmt::format("[severity {}]{} {}", e.severity, e.location.empty() ? "" : " (" + e.location + ")",
                                e.description));
  for (const auto& e : g.predicted)
    predicted.push_back(fmt::format("[severity {}]{} {}", e.severity, e.location.empty() ? "" : " (" + e.location + ")",
                                    e.description));
  return fmt::format(
      "You compare two lists of {} found between a reference image and a rendered image.\n"
      "Reference errors (annotated by people):\n{}\n"
      "Predicted errors (reported by a critic):\n{}\n"
      "Match each predicted error to at most one reference error and each reference error to at most one "
      "predicted error. Level \"yes\": both describe the same discrepancy. Level \"partial\": they describe "
      "partly the same discrepancy (the same element with a different detail, or an overlapping problem). "
      "Leave unrelated errors unmatched.\n"
      "Answer with JSON only: {{\"matches\": [{{\"predicted\": <number>, \"human\": <number>, \"level\": "
      "\"yes\" or \"partial\"}}]}}",
      g.type, numbered(human), numbered(predicted));
}

std::optional<std::vector<ErrorMatch>> parse_judge_reply(std::string_view text, size_t predicted, size_t human,
                                                         std::string* why) {
  auto bad = [&](std::string message) -> std::optional<std::vector<ErrorMatch>> {
    if (why) *why = std::move(message);
    return std::nullopt;
  };
  const auto j = first_json_object(text);
  if (!j || !j->contains("matches") || !(*j)["matches"].is_array()) return bad("no {\"matches\": [...]} object");
  std::vector<ErrorMatch> out;
  std::vector<bool> used_p(predicted), used_h(human);
  for (const auto& m : (*j)["matches"]) {
    if (!m.is_object() || !m.contains("predicted") || !m.contains("human") || !m.contains("level"))
      return bad(fmt::format("a match is not {{predicted, human, level}}: {}", m.dump()));
    const auto& p = m["predicted"];
    const auto& h = m["human"];
    if (!p.is_number_integer() || !h.is_number_integer())
      return bad(fmt::format("indices must be integers: {}", m.dump()));
    const int64_t pi = p.get<int64_t>(), hi = h.get<int64_t>();
    if (pi < 1 || pi > static_cast<int64_t>(predicted) || hi < 1 || hi > static_cast<int64_t>(human))
      return bad(fmt::format("index out of range (predicted 1..{}, human 1..{}): {}", predicted, human, m.dump()));
    const std::string level = m["level"].is_string() ? m["level"].get<std::string>() : "";
    if (level != "yes" && level != "partial") return bad(fmt::format("level must be yes or partial: {}", m.dump()));
    const auto pu = static_cast<size_t>(pi - 1), hu = static_cast<size_t>(hi - 1);
    if (used_p[pu] || used_h[hu]) return bad(fmt::format("an error is matched twice: {}", m.dump()));
    used_p[pu] = used_h[hu] = true;
    out.push_back({pu, hu, level == "yes" ? MatchLevel::yes : MatchLevel::partial, 0.0});
  }
  return out;
}

std::vector<JudgeOutcome> judge_groups(const std::vector<JudgeGroup>& groups, const JudgeOptions& options,
                                       const MatcherOptions& fallback) {
  if (options.endpoints.empty()) fail(ErrorKind::config, "the LLM judge needs reward.openai.endpoints");
  std::string key;
  if (!options.api_key_env.empty()) {
    const char* value = std::getenv(options.api_key_env.c_str());
    if (value == nullptr || *value == '\0')
      fail(ErrorKind::config, "reward.openai.api_key_env: environment variable {} is not set or empty",
           options.api_key_env);
    key = value;
  }
  ensure_curl_initialised();
  std::vector<std::string> header_lines = {"Content-Type: application/json"};
  if (!key.empty()) header_lines.push_back("Authorization: Bearer " + key);
  const CurlHeaders headers(header_lines);
  TransferLimits limits;
  limits.timeout_s = options.timeout_s;
  limits.connect_timeout_s = std::min(10.0, options.timeout_s);

  std::vector<JudgeOutcome> out(groups.size());
  std::vector<std::string> bodies(groups.size());
  std::vector<int64_t> attempts(groups.size(), 0);
  std::deque<size_t> queue;
  for (size_t i = 0; i < groups.size(); ++i) {
    bodies[i] = request_body(options, judge_prompt(groups[i]));
    queue.push_back(i);
  }
  CurlMulti multi;
  std::map<CURL*, std::pair<size_t, std::unique_ptr<Transfer>>> in_flight;
  auto give_up_or_retry = [&](size_t g, std::string why) {
    out[g].failure = std::move(why);
    if (attempts[g] <= options.max_retries) {
      queue.push_back(g);
      // A short pause before the retry; the other requests keep going meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempts[g]));
      return;
    }
    spdlog::warn("judge: item {} ({}): {}; the built-in matcher decides", groups[g].item_id, groups[g].type,
                 out[g].failure);
    out[g].matches = builtin_match(groups[g].predicted, groups[g].human, fallback);
  };
  while (!queue.empty() || !in_flight.empty()) {
    while (!queue.empty() && static_cast<int64_t>(in_flight.size()) < options.max_concurrency) {
      const size_t g = queue.front();
      queue.pop_front();
      const auto& base =
          options.endpoints[static_cast<size_t>(attempts[g] + static_cast<int64_t>(g)) % options.endpoints.size()];
      ++attempts[g];
      auto transfer = std::make_unique<Transfer>(base + "/chat/completions", bodies[g], headers, limits);
      multi.add(*transfer);
      CURL* handle = transfer->handle();  // before the move: the right side of = is evaluated first
      in_flight.emplace(handle, std::make_pair(g, std::move(transfer)));
    }
    multi.perform();
    while (auto done = multi.next_done()) {
      auto node = in_flight.extract(done->easy);
      const size_t g = node.mapped().first;
      auto& transfer = *node.mapped().second;
      multi.remove(transfer);
      const long status = transfer.http_status();
      if (done->code != CURLE_OK) {
        give_up_or_retry(g, transfer.error_text(done->code));
      } else if (status < 200 || status >= 300) {
        give_up_or_retry(g, fmt::format("HTTP {}: {}", status, server_message(transfer.response())));
      } else {
        const auto reply = parse_chat_reply(transfer.response());
        std::string why;
        const auto matches =
            reply.ok ? parse_judge_reply(reply.content, groups[g].predicted.size(), groups[g].human.size(), &why)
                     : std::nullopt;
        if (!reply.ok) why = reply.error;
        if (matches) {
          out[g].matches = *matches;
          out[g].judged = true;
          out[g].failure.clear();
        } else {
          give_up_or_retry(g, "unusable reply: " + why);
        }
      }
    }
    if (!in_flight.empty()) multi.wait(std::chrono::milliseconds(50));
  }
  return out;
}

}  // namespace visrl::reward::eval
