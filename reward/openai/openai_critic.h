// The critic behind OpenAI-compatible chat-completions servers (vLLM, SGLang, LMDeploy
// serving Visual-ERM). Item i is sent first to endpoint i mod n (as the released code routes
// by sample index), retried on the next healthy endpoint after connection errors, timeouts,
// 429, 5xx and bodies that are not chat completions, with exponential backoff and jitter.
// At most max_concurrency requests are in flight, all driven by libcurl's multi interface
// on the calling thread. The API key comes from the environment and is never logged.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reward/critic.h"
#include "reward/openai/endpoint_pool.h"
#include "reward/openai/openai_options.h"

namespace visrl::reward {

class OpenAiCritic : public Critic {
 public:
  // Throws visrl::Error(config) for bad options (no endpoint, an endpoint that is not an
  // http(s) URL, max_concurrency < 1, ...) or an api_key_env naming an unset variable,
  // and Error(io) for an unreadable prompt_dir.
  explicit OpenAiCritic(OpenAiCriticOptions options);
  ~OpenAiCritic() override;

  std::string name() const override { return "openai"; }
  // Calls from several threads are serialised.
  std::vector<CriticResult> score(const std::vector<CriticItem>& items) override;

  // Health of every endpoint (it persists across score() calls).
  std::vector<EndpointHealth> endpoint_health() const;

  struct State;  // prompts, key, headers, pool, backoff, curl multi handle

 private:
  std::unique_ptr<State> state_;
  mutable std::mutex mutex_;
};

}  // namespace visrl::reward
