// Settings of the OpenAI-compatible HTTP critic: the reward.openai keys of the config plus
// the shared critic keys (parse retries, prompts, image size, answer length). A plain struct
// so the config glue and the tests can fill it without LibTorch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::reward {

// What score() does when no endpoint can take a request.
enum class WhenAllDown {
  wait,        // keep probing with capped backoff until one comes back (bounded by wait_max_s)
  skip_step,   // throw CriticUnavailable: the trainer skips the step
  fail_items,  // the remaining items come back unavailable (scored as failures by the formula)
};

std::string_view to_string(WhenAllDown policy);
std::optional<WhenAllDown> parse_when_all_down(std::string_view name);

struct OpenAiCriticOptions {
  // reward.openai
  std::vector<std::string> endpoints;  // base URLs, e.g. http://host:8000/v1 (POST {base}/chat/completions)
  std::string model = "Visual-ERM";
  std::string api_key_env;       // name of the environment variable holding the key; "" = no Authorization
  double timeout_s = 120.0;      // whole request, connect included
  int64_t max_retries = 4;       // retries per item after connection errors, timeouts, 429, 5xx, bad bodies
  int64_t max_concurrency = 32;  // requests in flight over all endpoints
  double backoff_s = 1.0;        // first retry delay, doubled per retry, with equal jitter
  double max_backoff_s = 30.0;   // cap of one delay (and of Retry-After, and of an endpoint's cooldown)
  WhenAllDown when_all_down = WhenAllDown::wait;
  double wait_max_s = 0.0;  // wait: give up like skip_step after this long; 0 = never

  // reward (shared by every critic)
  int64_t parse_retries = 2;      // critic calls per item while the output does not parse (>= 1)
  std::string prompt_dir;         // "" = the built-in prompts
  int64_t max_image_side = 0;     // 0 = the task's default (1024 chart/svg, 768 table)
  int64_t max_new_tokens = 4096;  // max_tokens of the request; 0 = the task's default

  // Not in the config; the defaults suit a cluster of vLLM servers.
  double connect_timeout_s = 10.0;        // capped by timeout_s
  int64_t mark_down_after = 3;            // consecutive failures that take an endpoint out of routing
  double cooldown_s = 0.0;                // first down period of an endpoint; 0 = backoff_s. Doubles per failed probe.
  int64_t max_response_bytes = 16 << 20;  // a longer answer is a failed attempt
  uint64_t seed = 0x5eed;                 // jitter of the retry delays
};

}  // namespace visrl::reward
