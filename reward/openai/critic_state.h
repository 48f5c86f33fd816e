// What an OpenAiCritic keeps between score() calls, and the scoring loop that uses it.
// Internal to reward/openai.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "reward/openai/backoff.h"
#include "reward/openai/curl_transfer.h"
#include "reward/openai/endpoint_pool.h"
#include "reward/openai/openai_critic.h"
#include "reward/prompts/critic_prompts.h"

namespace visrl::reward {

struct OpenAiCritic::State {
  OpenAiCriticOptions options;
  CriticPrompts prompts;
  std::string api_key;                 // only ever written into the Authorization header
  std::vector<std::string> post_urls;  // {base}/chat/completions per endpoint
  std::unique_ptr<CurlHeaders> headers;
  TransferLimits limits;
  EndpointPool pool;
  Backoff backoff;
  CurlMulti multi;

  State(OpenAiCriticOptions opts, CriticPrompts critic_prompts, std::string key, std::vector<std::string> urls,
        std::vector<std::string> display_urls);

  // `text` with every occurrence of the key replaced, for messages that quote a server.
  std::string redact(std::string text) const;
};

// One score() call: results in input order. Throws CriticUnavailable per when_all_down.
std::vector<CriticResult> run_scoring(OpenAiCritic::State& state, const std::vector<CriticItem>& items);

}  // namespace visrl::reward
