#include "reward/openai/endpoint_pool.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace visrl::reward {

EndpointPool::EndpointPool(std::vector<std::string> urls, Settings settings) : settings_(settings) {
  settings_.mark_down_after = std::max<int64_t>(1, settings_.mark_down_after);
  settings_.max_cooldown_s = std::max(settings_.max_cooldown_s, settings_.cooldown_s);
  for (auto& url : urls) {
    Endpoint e;
    e.url = std::move(url);
    e.cooldown_s = settings_.cooldown_s;
    endpoints_.push_back(std::move(e));
  }
}

std::optional<EndpointPool::Pick> EndpointPool::pick(size_t preferred, Clock::time_point now) {
  const size_t n = endpoints_.size();
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (preferred + step) % n;
    Endpoint& e = endpoints_[i];
    if (e.state == EndpointState::up) return Pick{i, false};
    if (e.state == EndpointState::down && now >= e.down_until) {
      e.state = EndpointState::probing;
      spdlog::info("critic endpoint {}: probing after a {:.1f} s cooldown", e.url, e.cooldown_s);
      return Pick{i, true};
    }
  }
  return std::nullopt;
}

void EndpointPool::mark_down(Endpoint& e, const std::string& detail, Clock::time_point now, bool after_probe) {
  if (after_probe) e.cooldown_s = std::min(settings_.max_cooldown_s, e.cooldown_s * 2);
  e.state = EndpointState::down;
  e.down_until = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(e.cooldown_s));
  if (after_probe)
    spdlog::warn("critic endpoint {}: still down ({}); next probe in {:.1f} s", e.url, detail, e.cooldown_s);
  else
    spdlog::warn("critic endpoint {}: down after {} consecutive failures ({}); next probe in {:.1f} s", e.url,
                 e.consecutive_failures, detail, e.cooldown_s);
}

void EndpointPool::report(const Pick& pick, EndpointOutcome outcome, const std::string& detail, Clock::time_point now) {
  Endpoint& e = endpoints_[pick.index];
  // Only the probe's own answer decides a probing endpoint; answers of requests sent
  // before it went down still count when they show it alive.
  if (outcome == EndpointOutcome::cancelled) {
    if (pick.probe && e.state == EndpointState::probing) e.state = EndpointState::down;
    return;
  }
  if (outcome == EndpointOutcome::alive) {
    if (e.state != EndpointState::up) spdlog::info("critic endpoint {}: back up", e.url);
    e.state = EndpointState::up;
    e.consecutive_failures = 0;
    e.cooldown_s = settings_.cooldown_s;
    e.last_connection_failure = false;
    return;
  }
  ++e.consecutive_failures;
  e.last_connection_failure = outcome == EndpointOutcome::connection_failure;
  if (pick.probe && e.state == EndpointState::probing)
    mark_down(e, detail, now, /*after_probe=*/true);
  else if (e.state == EndpointState::up && e.consecutive_failures >= settings_.mark_down_after)
    mark_down(e, detail, now, /*after_probe=*/false);
}

bool EndpointPool::probing() const {
  return std::any_of(endpoints_.begin(), endpoints_.end(),
                     [](const Endpoint& e) { return e.state == EndpointState::probing; });
}

bool EndpointPool::all_down() const {
  return std::none_of(endpoints_.begin(), endpoints_.end(),
                      [](const Endpoint& e) { return e.state == EndpointState::up; });
}

bool EndpointPool::all_unreachable() const {
  return std::all_of(endpoints_.begin(), endpoints_.end(),
                     [](const Endpoint& e) { return e.state != EndpointState::up || e.last_connection_failure; });
}

std::optional<EndpointPool::Clock::time_point> EndpointPool::next_probe_at() const {
  std::optional<Clock::time_point> next;
  for (const Endpoint& e : endpoints_)
    if (e.state == EndpointState::down && (!next || e.down_until < *next)) next = e.down_until;
  return next;
}

std::vector<EndpointHealth> EndpointPool::health() const {
  std::vector<EndpointHealth> out;
  for (const Endpoint& e : endpoints_) out.push_back({e.url, e.state, e.consecutive_failures, e.cooldown_s});
  return out;
}

}  // namespace visrl::reward
