#include "reward/openai/openai_critic.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/error.h"
#include "reward/openai/critic_state.h"

namespace visrl::reward {

std::string_view to_string(WhenAllDown policy) {
  switch (policy) {
    case WhenAllDown::wait:
      return "wait";
    case WhenAllDown::skip_step:
      return "skip_step";
    case WhenAllDown::fail_items:
      return "fail_items";
  }
  return "wait";
}

std::optional<WhenAllDown> parse_when_all_down(std::string_view name) {
  for (WhenAllDown p : {WhenAllDown::wait, WhenAllDown::skip_step, WhenAllDown::fail_items})
    if (to_string(p) == name) return p;
  return std::nullopt;
}

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

// The URL without "user:password@", for log lines and messages.
std::string display_url(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return fmt::format("{}***@{}", url.substr(0, host), url.substr(at + 1));
}

std::string post_url(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.ends_with("/chat/completions")) return std::string(base);
  return fmt::format("{}/chat/completions", base);
}

void check_options(const OpenAiCriticOptions& o) {
  if (o.endpoints.empty()) fail(ErrorKind::config, "reward.openai.endpoints: at least one endpoint is needed");
  for (size_t i = 0; i < o.endpoints.size(); ++i) {
    const std::string& e = o.endpoints[i];
    if (!starts_with_nocase(e, "http://") && !starts_with_nocase(e, "https://"))
      fail(ErrorKind::config, "reward.openai.endpoints[{}]: '{}' is not an http:// or https:// URL", i, display_url(e));
  }
  if (o.model.empty()) fail(ErrorKind::config, "reward.openai.model: empty");
  auto positive = [](double v, const char* key) {
    if (!(v > 0)) fail(ErrorKind::config, "{}: must be > 0, got {}", key, v);
  };
  auto non_negative = [](double v, const char* key) {
    if (!(v >= 0)) fail(ErrorKind::config, "{}: must be >= 0, got {}", key, v);
  };
  positive(o.timeout_s, "reward.openai.timeout_s");
  positive(o.connect_timeout_s, "reward.openai connect_timeout_s");
  non_negative(static_cast<double>(o.max_retries), "reward.openai.max_retries");
  if (o.max_concurrency < 1)
    fail(ErrorKind::config, "reward.openai.max_concurrency: must be >= 1, got {}", o.max_concurrency);
  non_negative(o.backoff_s, "reward.openai.backoff_s");
  non_negative(o.max_backoff_s, "reward.openai.max_backoff_s");
  non_negative(o.wait_max_s, "reward.openai.wait_max_s");
  if (o.parse_retries < 1) fail(ErrorKind::config, "reward.parse_retries: must be >= 1, got {}", o.parse_retries);
  non_negative(static_cast<double>(o.max_image_side), "reward.max_image_side");
  non_negative(static_cast<double>(o.max_new_tokens), "reward.max_new_tokens");
  if (o.mark_down_after < 1)
    fail(ErrorKind::config, "reward.openai mark_down_after: must be >= 1, got {}", o.mark_down_after);
  non_negative(o.cooldown_s, "reward.openai cooldown_s");
  if (o.max_response_bytes < 1) fail(ErrorKind::config, "reward.openai max_response_bytes: must be >= 1");
}

std::string read_api_key(const std::string& env) {
  if (env.empty()) return {};
  const char* value = std::getenv(env.c_str());
  if (value == nullptr || *value == '\0')
    fail(ErrorKind::config, "reward.openai.api_key_env: environment variable {} is not set or empty", env);
  return value;
}

// An endpoint stays out of routing at least this long, so that a dead endpoint with no
// backoff configured is not probed in a tight loop.
constexpr double kMinCooldownS = 0.1;

EndpointPool::Settings pool_settings(const OpenAiCriticOptions& o) {
  EndpointPool::Settings s;
  s.mark_down_after = o.mark_down_after;
  s.cooldown_s = std::max(kMinCooldownS, o.cooldown_s > 0 ? o.cooldown_s : o.backoff_s);
  s.max_cooldown_s = std::max(s.cooldown_s, o.max_backoff_s);
  return s;
}

}  // namespace

OpenAiCritic::State::State(OpenAiCriticOptions opts, CriticPrompts critic_prompts, std::string key,
                           std::vector<std::string> urls, std::vector<std::string> display_urls)
    : options(std::move(opts)),
      prompts(std::move(critic_prompts)),
      api_key(std::move(key)),
      post_urls(std::move(urls)),
      limits{options.timeout_s, options.connect_timeout_s, options.max_response_bytes},
      pool(std::move(display_urls), pool_settings(options)),
      backoff(options.backoff_s, options.max_backoff_s, options.seed) {
  std::vector<std::string> lines = {"Content-Type: application/json", "Accept: application/json",
                                    "Expect:"};  // no 100-continue round trip for large bodies
  if (!api_key.empty()) lines.push_back(fmt::format("Authorization: Bearer {}", api_key));
  headers = std::make_unique<CurlHeaders>(lines);
}

std::string OpenAiCritic::State::redact(std::string text) const {
  if (api_key.empty()) return text;
  for (size_t at = text.find(api_key); at != std::string::npos; at = text.find(api_key, at + 3))
    text.replace(at, api_key.size(), "***");
  return text;
}

OpenAiCritic::OpenAiCritic(OpenAiCriticOptions options) {
  check_options(options);
  std::string key = read_api_key(options.api_key_env);
  CriticPrompts prompts = CriticPrompts::load(options.prompt_dir);
  std::vector<std::string> urls, shown;
  for (const auto& e : options.endpoints) {
    urls.push_back(post_url(e));
    shown.push_back(display_url(urls.back()));
  }
  state_ = std::make_unique<State>(std::move(options), std::move(prompts), std::move(key), std::move(urls),
                                   std::move(shown));
}

OpenAiCritic::~OpenAiCritic() = default;

std::vector<CriticResult> OpenAiCritic::score(const std::vector<CriticItem>& items) {
  std::lock_guard lock(mutex_);
  return run_scoring(*state_, items);
}

std::vector<EndpointHealth> OpenAiCritic::endpoint_health() const {
  std::lock_guard lock(mutex_);
  return state_->pool.health();
}

}  // namespace visrl::reward
