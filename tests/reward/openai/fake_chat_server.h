// A scriptable stand-in for a vLLM chat-completions server, for the openai critic tests:
// plain POSIX sockets on 127.0.0.1 (ephemeral port), one thread per connection, HTTP/1.1
// with Content-Length bodies and Connection: close. Records every request and how many
// were being served at once; answers each with what the script says (an answer, an HTTP
// error, a truncated body, a dropped connection, a delay), optionally held back until a
// condition holds, so that tests order events by conditions instead of by clocks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace visrl::test {

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::chrono::steady_clock::time_point received;  // when the whole request was read
};

struct FakeReply {
  enum class Kind {
    answer,     // 200 with a chat completion whose message content is `content`
    status,     // `status` with `body` (JSON or not) and `headers`
    truncated,  // headers announce a longer body than is sent, then the connection closes
    drop,       // the connection closes without an answer
  };
  Kind kind = Kind::answer;
  int status = 200;
  std::string content;
  bool content_as_parts = false;  // answer: content as [{type: text, text}] instead of a string
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int delay_ms = 0;  // before answering (or dropping), after any hold
  // Held: nothing is sent until hold_until() holds (checked every 5 ms, without the server's
  // lock, so it may ask the server). A client that closes the connection meanwhile abandons
  // the request (abandoned_count()); after kHoldLimit, a hang guard, the connection is
  // dropped and counted in holds_expired().
  std::function<bool()> hold_until;

  static FakeReply answer(std::string content, int delay_ms = 0);
  static FakeReply answer_parts(std::string content);
  static FakeReply error(int status, const std::string& message);  // {"error": {"message": ...}}
  static FakeReply rate_limited(std::optional<std::string> retry_after);
  static FakeReply raw(int status, std::string body);
  static FakeReply truncated();
  static FakeReply drop(int delay_ms = 0);
  // This reply, held until `condition` holds.
  FakeReply held_until(std::function<bool()> condition) const;
  // This reply, held until the client gives up on it (or kHoldLimit passes).
  FakeReply held_forever() const;
};

// How long a held reply waits at most: a hang guard, far above any wait a test means.
inline constexpr std::chrono::seconds kHoldLimit{60};

// Connections being served right now, and the most ever; shareable between servers.
struct ConcurrencyMeter {
  std::atomic<int> active{0};
  std::atomic<int> max_seen{0};
  void enter();
  void leave() { --active; }
};

class FakeChatServer {
 public:
  // The reply to the request with this index (0, 1, ... in arrival order on this server).
  using Script = std::function<FakeReply(size_t index, const RecordedRequest& request)>;

  explicit FakeChatServer(Script script, std::shared_ptr<ConcurrencyMeter> meter = nullptr);
  ~FakeChatServer();
  FakeChatServer(const FakeChatServer&) = delete;
  FakeChatServer& operator=(const FakeChatServer&) = delete;

  uint16_t port() const { return port_; }
  std::string base_url() const;  // http://127.0.0.1:<port>/v1

  void set_script(Script script);
  // Stops listening (new connections are refused) / listens again on the same port.
  void stop_listening();
  void start_listening();

  size_t request_count() const;
  std::vector<RecordedRequest> requests() const;
  int max_concurrent() const { return meter_->max_seen; }
  // Held requests whose client closed the connection before the answer / held past kHoldLimit.
  size_t abandoned_count() const;
  size_t holds_expired() const;

 private:
  void accept_loop(int listen_fd);
  void serve(int fd);
  void sleep_ms(int ms);
  bool shutting_down() const;
  // Waits until the reply's hold is over; false when the client abandoned the request.
  bool hold(int fd, FakeReply& reply);

  Script script_;
  std::shared_ptr<ConcurrencyMeter> meter_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::atomic<bool> accepting_{false};
  bool shutting_down_ = false;  // guarded by mutex_; cuts delays short
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<RecordedRequest> requests_;
  size_t abandoned_ = 0;      // guarded by mutex_
  size_t holds_expired_ = 0;  // guarded by mutex_
  std::vector<std::thread> handlers_;
};

// A 127.0.0.1 URL where nothing listens (connections are refused).
std::string refused_url();

}  // namespace visrl::test
