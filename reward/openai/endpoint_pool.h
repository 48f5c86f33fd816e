// Routing and health of the critic endpoints. An endpoint with `mark_down_after`
// consecutive failures leaves the routing for a cooldown; after it, the next request routed
// there is its probe (one at a time): success brings it back, failure doubles the cooldown
// (capped). State changes are logged with the URL (never a key: URLs carry none).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace visrl::reward {

enum class EndpointState { up, down, probing };

// How a request to an endpoint ended, as far as the endpoint's health is concerned.
enum class EndpointOutcome {
  alive,               // an HTTP answer that shows a working server (2xx, 4xx, 429)
  server_failure,      // 5xx other than 502/503/504, or a body that is not a chat completion
  connection_failure,  // no complete answer (refused, reset, timeout) or 502/503/504 of a gateway
  cancelled,           // stopped by us: says nothing about the endpoint
};

struct EndpointHealth {
  std::string url;
  EndpointState state = EndpointState::up;
  int64_t consecutive_failures = 0;
  double cooldown_s = 0;  // length of the current (or next) down period
};

class EndpointPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Settings {
    int64_t mark_down_after = 3;
    double cooldown_s = 1.0;       // first down period
    double max_cooldown_s = 30.0;  // cap of the doubling
  };

  EndpointPool(std::vector<std::string> urls, Settings settings);

  size_t size() const { return endpoints_.size(); }
  const std::string& url(size_t index) const { return endpoints_[index].url; }

  struct Pick {
    size_t index = 0;
    bool probe = false;  // the request tests a down endpoint; report() must follow
  };
  // The first endpoint from `preferred` on (wrapping) that is up, or down with its cooldown
  // over and no probe running (the request becomes the probe). nullopt: none can take it.
  std::optional<Pick> pick(size_t preferred, Clock::time_point now);

  // Every request that pick() routed must be reported exactly once.
  void report(const Pick& pick, EndpointOutcome outcome, const std::string& detail, Clock::time_point now);

  // True when some endpoint is being probed (a request will soon say whether it is back).
  bool probing() const;
  // True when every endpoint is down or probing: nothing is up.
  bool all_down() const;
  // True when every endpoint is down, probing, or its last request failed to connect.
  bool all_unreachable() const;
  // When the earliest cooldown ends; nullopt when no endpoint is down.
  std::optional<Clock::time_point> next_probe_at() const;

  std::vector<EndpointHealth> health() const;

 private:
  struct Endpoint {
    std::string url;
    EndpointState state = EndpointState::up;
    int64_t consecutive_failures = 0;
    double cooldown_s = 0;
    Clock::time_point down_until{};
    bool last_connection_failure = false;
  };

  void mark_down(Endpoint& endpoint, const std::string& detail, Clock::time_point now, bool after_probe);

  std::vector<Endpoint> endpoints_;
  Settings settings_;
};

}  // namespace visrl::reward
