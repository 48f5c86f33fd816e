// The scoring loop of one score() call: dispatch ready items to endpoints up to the
// concurrency bound, drive libcurl, turn each finished request into a result, a retry or
// a parse retry, and apply when_all_down when no endpoint can take a request.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "reward/openai/chat_protocol.h"
#include "reward/openai/critic_state.h"
#include "reward/parser/critic_parser.h"

namespace visrl::reward {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Why an image cannot be sent, or "" when it is a proper RGB image.
std::string image_problem(const render::RgbImage* image, std::string_view what) {
  if (image == nullptr) return fmt::format("no {} image", what);
  if (image->empty() || image->width < 0 || image->height < 0 ||
      image->rgb.size() != static_cast<size_t>(image->width) * static_cast<size_t>(image->height) * 3)
    return fmt::format("the {} image is {}x{} with {} bytes, not an RGB image", what, image->width, image->height,
                       image->rgb.size());
  return {};
}

struct Job {
  bool pending = false;          // waiting to be sent (not in flight, not finished)
  int64_t failures = 0;          // retryable failures counted against max_retries
  int64_t rotation = 0;          // endpoints moved past the item's own (index mod n)
  int64_t calls = 0;             // answers received (parse retries)
  Clock::time_point ready_at{};  // not sent before (backoff)
  std::optional<Clock::time_point> first_request;
  std::string body;  // built on first dispatch, dropped when the item is finished
  std::string last_failure;
};

// How one request ended.
struct Attempt {
  EndpointOutcome outcome = EndpointOutcome::alive;
  bool answered = false;   // content holds the critic's answer
  bool retryable = false;  // a failure worth another request
  std::optional<double> retry_after_s;
  std::string content;
  std::string detail;  // what went wrong, with the endpoint's URL
};

class ScoreRun {
 public:
  ScoreRun(OpenAiCritic::State& state, const std::vector<CriticItem>& items)
      : s_(state), items_(items), jobs_(items.size()), results_(items.size()) {}

  // Whatever way the run ends, no transfer outlives it.
  ~ScoreRun() { abort_all(); }
  ScoreRun(const ScoreRun&) = delete;
  ScoreRun& operator=(const ScoreRun&) = delete;

  std::vector<CriticResult> run() {
    prepare();
    while (remaining_ > 0) {
      const Clock::time_point now = Clock::now();
      check_wait_limit(now);
      dispatch(now);
      if (remaining_ == 0) break;
      s_.multi.perform();
      while (auto done = s_.multi.next_done()) on_done(done->easy, done->code);
      if (remaining_ == 0) break;
      // An item asked again at once (parse retry) goes out without sleeping first.
      if (!requeued_now_) s_.multi.wait(wait_budget(Clock::now()));
      requeued_now_ = false;
    }
    return std::move(results_);
  }

 private:
  struct Flight {
    std::unique_ptr<Transfer> transfer;
    size_t item = 0;
    EndpointPool::Pick pick;
  };

  const OpenAiCriticOptions& opts() const { return s_.options; }

  void prepare() {
    for (size_t i = 0; i < items_.size(); ++i) {
      const CriticItem& item = items_[i];
      CriticResult& r = results_[i];
      if (item.rendered == nullptr) {
        r.status = CriticStatus::not_scored;
        r.message = "no render";
        continue;
      }
      std::string problem = image_problem(item.reference, "reference");
      if (problem.empty()) problem = image_problem(item.rendered, "rendered");
      if (!problem.empty()) {
        r.status = CriticStatus::not_scored;
        r.message = fmt::format("item {}: {}", item.id, problem);
        continue;
      }
      jobs_[i].pending = true;
      ++remaining_;
      ++reference_uses_[{item.reference, side_of(item.task)}];
    }
  }

  int64_t side_of(Task task) const { return critic_sampling(task, opts().max_image_side).max_image_side; }

  // The reference image of a GRPO group is shared by its rollouts: encode it once.
  std::string reference_url(const CriticItem& item) {
    const auto key = std::make_pair(item.reference, side_of(item.task));
    auto cached = reference_urls_.find(key);
    std::string url = cached != reference_urls_.end() ? cached->second : png_data_url(*item.reference, key.second);
    if (--reference_uses_[key] == 0) {
      reference_urls_.erase(key);
      reference_uses_.erase(key);
    } else if (cached == reference_urls_.end()) {
      reference_urls_.emplace(key, url);
    }
    return url;
  }

  void build_body(size_t i) {
    const CriticItem& item = items_[i];
    const CriticSampling sampling = critic_sampling(item.task, opts().max_image_side, opts().max_new_tokens);
    std::string reference = reference_url(item);
    std::string rendered = png_data_url(*item.rendered, sampling.max_image_side);
    jobs_[i].body = chat_request_body(opts().model, std::move(reference), std::move(rendered),
                                      s_.prompts.for_task(item.task), sampling);
  }

  size_t preferred_endpoint(size_t i) const { return (i + static_cast<size_t>(jobs_[i].rotation)) % s_.pool.size(); }

  void dispatch(Clock::time_point now) {
    bool blocked = false;
    for (size_t i = 0; i < jobs_.size() && flights_.size() < static_cast<size_t>(opts().max_concurrency); ++i) {
      Job& job = jobs_[i];
      if (!job.pending || job.ready_at > now) continue;
      const auto pick = s_.pool.pick(preferred_endpoint(i), now);
      if (!pick) {
        blocked = true;
        break;
      }
      start(i, *pick, now);
    }
    if (blocked && s_.pool.all_down()) on_all_down(now);
  }

  void start(size_t i, EndpointPool::Pick pick, Clock::time_point now) {
    Job& job = jobs_[i];
    try {
      if (job.body.empty()) build_body(i);
      auto transfer = std::make_unique<Transfer>(s_.post_urls[pick.index], job.body, *s_.headers, s_.limits);
      s_.multi.add(*transfer);
      CURL* easy = transfer->handle();
      flights_.emplace(easy, Flight{std::move(transfer), i, pick});
    } catch (...) {
      s_.pool.report(pick, EndpointOutcome::cancelled, {}, now);
      throw;
    }
    job.pending = false;
    if (!job.first_request) job.first_request = now;
    ++results_[i].attempts;
    if (pick.probe) warned_ = false;  // a new round of the all-down wait gets its own warning
  }

  Attempt classify(const Transfer& t, CURLcode code, size_t endpoint) const {
    const std::string& url = s_.pool.url(endpoint);
    Attempt a;
    if (code != CURLE_OK) {
      a.retryable = true;
      a.outcome = t.response_too_large() ? EndpointOutcome::server_failure : EndpointOutcome::connection_failure;
      a.detail = code == CURLE_OPERATION_TIMEDOUT
                     ? fmt::format("{}: no answer within {} s ({})", url, opts().timeout_s, t.error_text(code))
                     : fmt::format("{}: {}", url, t.error_text(code));
      return a;
    }
    const long status = t.http_status();
    if (status >= 200 && status < 300) {
      ChatReply reply = parse_chat_reply(t.response());
      if (reply.ok) {
        a.answered = true;
        a.content = std::move(reply.content);
        return a;
      }
      a.retryable = true;
      a.outcome = EndpointOutcome::server_failure;
      a.detail = fmt::format("HTTP {} from {}: {} ({})", status, url, reply.error, server_message(t.response(), 120));
      return a;
    }
    a.detail = fmt::format("HTTP {} from {}: {}", status, url, server_message(t.response()));
    if (status == 429) {
      a.retryable = true;
      if (t.retry_after()) a.retry_after_s = parse_retry_after(*t.retry_after());
    } else if (status == 502 || status == 503 || status == 504) {
      // What a gateway answers for a backend that is gone: as good as unreachable.
      a.retryable = true;
      a.outcome = EndpointOutcome::connection_failure;
    } else if (status >= 500) {
      a.retryable = true;
      a.outcome = EndpointOutcome::server_failure;
    }
    return a;
  }

  void on_done(CURL* easy, CURLcode code) {
    auto it = flights_.find(easy);
    if (it == flights_.end()) return;
    Flight flight = std::move(it->second);
    flights_.erase(it);
    s_.multi.remove(*flight.transfer);
    const Clock::time_point now = Clock::now();
    Attempt a = classify(*flight.transfer, code, flight.pick.index);
    flight.transfer.reset();
    a.detail = s_.redact(std::move(a.detail));
    s_.pool.report(flight.pick, a.outcome, a.detail, now);
    if (a.outcome == EndpointOutcome::alive) all_down_since_.reset();
    if (a.answered)
      on_answer(flight.item, a.content, now);
    else if (a.retryable)
      on_failure(flight.item, a, now);
    else
      finish(flight.item, CriticStatus::unavailable, a.detail, now);
  }

  void on_answer(size_t i, std::string& content, Clock::time_point now) {
    Job& job = jobs_[i];
    CriticResult& r = results_[i];
    ++job.calls;
    ParsedCritique parsed = parse_critic_output(items_[i].task, content);
    r.raw_text = std::move(content);
    r.parse = std::move(parsed.report);
    if (r.parse.status != ParseStatus::failed) {
      r.errors = std::move(parsed.errors);
      finish(i, CriticStatus::scored, {}, now);
    } else if (job.calls < opts().parse_retries) {
      spdlog::debug("critic item {}: answer {} does not parse ({}); asking again", items_[i].id, job.calls,
                    r.parse.message);
      job.pending = true;
      job.ready_at = now;
      requeued_now_ = true;
    } else {
      finish(i, CriticStatus::parse_failure,
             fmt::format("the critic's answer did not parse in {} calls: {}", job.calls, r.parse.message), now);
    }
  }

  void on_failure(size_t i, const Attempt& a, Clock::time_point now) {
    Job& job = jobs_[i];
    job.last_failure = a.detail;
    ++job.rotation;  // the next try goes to the next endpoint
    spdlog::debug("critic item {}: request {} failed: {}", items_[i].id, results_[i].attempts, a.detail);
    if (job.failures < opts().max_retries) {
      const double delay = s_.backoff.delay_s(job.failures, a.retry_after_s);
      ++job.failures;
      job.pending = true;
      job.ready_at = after(now, delay);
      requeued_now_ |= delay <= 0;
      return;
    }
    if (a.outcome == EndpointOutcome::connection_failure && s_.pool.all_unreachable()) {
      on_unreachable(i, now);
      return;
    }
    finish(i, CriticStatus::unavailable,
           fmt::format("no usable answer after {} requests; last: {}", results_[i].attempts, a.detail), now);
  }

  // An item spent its retries and no endpoint answers: the when_all_down policy decides.
  void on_unreachable(size_t i, Clock::time_point now) {
    Job& job = jobs_[i];
    switch (opts().when_all_down) {
      case WhenAllDown::fail_items:
        finish(
            i, CriticStatus::unavailable,
            fmt::format("every critic endpoint is unreachable (when_all_down: fail_items); last: {}", job.last_failure),
            now);
        return;
      case WhenAllDown::skip_step:
        give_up(fmt::format("every critic endpoint is unreachable; last: {}", job.last_failure));
      case WhenAllDown::wait:
        if (!all_down_since_) all_down_since_ = now;
        warn_waiting(now);
        // Waiting does not spend the item's retries: it starts over when an endpoint returns.
        job.pending = true;
        job.ready_at = after(now, s_.backoff.delay_s(job.failures));
        job.failures = 0;
        return;
    }
  }

  // Every endpoint is down and an item is ready to go.
  void on_all_down(Clock::time_point now) {
    switch (opts().when_all_down) {
      case WhenAllDown::fail_items:
        if (s_.pool.probing()) return;  // a probe is out: its answer decides
        for (size_t i = 0; i < jobs_.size(); ++i)
          if (jobs_[i].pending)
            finish(i, CriticStatus::unavailable,
                   jobs_[i].last_failure.empty()
                       ? std::string("every critic endpoint is down (when_all_down: fail_items)")
                       : fmt::format("every critic endpoint is down (when_all_down: fail_items); last: {}",
                                     jobs_[i].last_failure),
                   now);
        return;
      case WhenAllDown::skip_step:
        if (s_.pool.probing()) return;
        give_up("every critic endpoint is down");
      case WhenAllDown::wait:
        if (!all_down_since_) all_down_since_ = now;
        warn_waiting(now);
        return;
    }
  }

  void warn_waiting(Clock::time_point now) {
    if (warned_) return;
    warned_ = true;
    const auto next = s_.pool.next_probe_at();
    const double next_s = next ? std::max(0.0, ms_between(now, *next) / 1000) : 0.0;
    spdlog::warn(
        "openai critic: every one of {} endpoint(s) is down; waiting ({:.1f} s so far{}), next probe in {:.1f} s",
        s_.pool.size(), ms_between(*all_down_since_, now) / 1000,
        opts().wait_max_s > 0 ? fmt::format(", giving up after {} s", opts().wait_max_s) : std::string(), next_s);
  }

  void check_wait_limit(Clock::time_point now) {
    if (opts().when_all_down != WhenAllDown::wait || opts().wait_max_s <= 0 || !all_down_since_) return;
    if (ms_between(*all_down_since_, now) >= opts().wait_max_s * 1000)
      give_up(fmt::format("every critic endpoint has been down for {:.1f} s (wait_max_s: {})",
                          ms_between(*all_down_since_, now) / 1000, opts().wait_max_s));
  }

  [[noreturn]] void give_up(const std::string& why) {
    abort_all();
    const std::string message =
        fmt::format("openai critic: {}; skipping the step (when_all_down: {})", why, to_string(opts().when_all_down));
    spdlog::warn("{}", message);
    throw CriticUnavailable(message);
  }

  void finish(size_t i, CriticStatus status, std::string message, Clock::time_point now) {
    Job& job = jobs_[i];
    CriticResult& r = results_[i];
    r.status = status;
    r.message = std::move(message);
    if (job.first_request) r.latency_ms = ms_between(*job.first_request, now);
    if (status == CriticStatus::unavailable) spdlog::debug("critic item {}: unavailable: {}", items_[i].id, r.message);
    job.pending = false;
    std::string().swap(job.body);
    --remaining_;
  }

  // How long the loop may sleep: until the next retry is due or the next probe, capped so
  // that the wait limit and curl's timers are looked at often. Items that are due but not
  // sent wait for a free slot or an endpoint: curl wakes the loop when a request ends.
  std::chrono::milliseconds wait_budget(Clock::time_point now) const {
    double budget_ms = 100;
    for (const Job& job : jobs_)
      if (job.pending && job.ready_at > now) budget_ms = std::min(budget_ms, ms_between(now, job.ready_at));
    if (const auto next = s_.pool.next_probe_at(); next && *next > now)
      budget_ms = std::min(budget_ms, ms_between(now, *next));
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(std::max(1.0, budget_ms))));
  }

  void abort_all() noexcept {
    const Clock::time_point now = Clock::now();
    for (auto& entry : flights_) {
      s_.multi.remove(*entry.second.transfer);
      s_.pool.report(entry.second.pick, EndpointOutcome::cancelled, {}, now);
    }
    flights_.clear();
  }

  OpenAiCritic::State& s_;
  const std::vector<CriticItem>& items_;
  std::vector<Job> jobs_;
  std::vector<CriticResult> results_;
  std::map<CURL*, Flight> flights_;
  size_t remaining_ = 0;
  std::map<std::pair<const render::RgbImage*, int64_t>, std::string> reference_urls_;
  std::map<std::pair<const render::RgbImage*, int64_t>, int> reference_uses_;
  std::optional<Clock::time_point> all_down_since_;
  bool warned_ = false;
  bool requeued_now_ = false;
};

}  // namespace

std::vector<CriticResult> run_scoring(OpenAiCritic::State& state, const std::vector<CriticItem>& items) {
  return ScoreRun(state, items).run();
}

}  // namespace visrl::reward
