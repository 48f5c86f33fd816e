#include "fake_chat_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace visrl::test {

using nlohmann::json;

FakeReply FakeReply::answer(std::string content, int delay_ms) {
  FakeReply r;
  r.content = std::move(content);
  r.delay_ms = delay_ms;
  return r;
}

FakeReply FakeReply::answer_parts(std::string content) {
  FakeReply r = answer(std::move(content));
  r.content_as_parts = true;
  return r;
}

FakeReply FakeReply::error(int status, const std::string& message) {
  return raw(status, json{{"error", {{"message", message}, {"type", "BadRequestError"}}}}.dump());
}

FakeReply FakeReply::rate_limited(std::optional<std::string> retry_after) {
  FakeReply r = error(429, "rate limited");
  if (retry_after) r.headers.emplace_back("Retry-After", *retry_after);
  return r;
}

FakeReply FakeReply::raw(int status, std::string body) {
  FakeReply r;
  r.kind = Kind::status;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FakeReply FakeReply::truncated() {
  FakeReply r;
  r.kind = Kind::truncated;
  return r;
}

FakeReply FakeReply::drop(int delay_ms) {
  FakeReply r;
  r.kind = Kind::drop;
  r.delay_ms = delay_ms;
  return r;
}

FakeReply FakeReply::held_until(std::function<bool()> condition) const {
  FakeReply r = *this;
  r.hold_until = std::move(condition);
  return r;
}

FakeReply FakeReply::held_forever() const {
  return held_until([] { return false; });
}

void ConcurrencyMeter::enter() {
  const int now = ++active;
  int seen = max_seen.load();
  while (now > seen && !max_seen.compare_exchange_weak(seen, now)) {
  }
}

namespace {

int listen_on(uint16_t port, uint16_t* bound_port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot listen on 127.0.0.1:{}: {}", port, std::strerror(errno)));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads one request (headers, then a Content-Length body). False when the client went away.
bool read_request(int fd, RecordedRequest& out) {
  std::string data;
  char buf[65536];
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<size_t>(n));
    header_end = data.find("\r\n\r\n");
  }
  const std::string head = data.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
  out.method = request_line.substr(0, sp1);
  out.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos && line_end < head.size()) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = colon + 1;
    while (value < line.size() && line[value] == ' ') ++value;
    out.headers[lower(line.substr(0, colon))] = line.substr(value);
  }
  size_t length = 0;
  if (auto it = out.headers.find("content-length"); it != out.headers.end()) length = std::stoul(it->second);
  out.body = data.substr(header_end + 4);
  while (out.body.size() < length) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    out.body.append(buf, static_cast<size_t>(n));
  }
  out.received = std::chrono::steady_clock::now();
  return true;
}

std::string reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string http_response(int status, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers, size_t announced) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nConnection: close\r\n", status,
                                reason_of(status));
  for (const auto& [name, value] : headers) out += fmt::format("{}: {}\r\n", name, value);
  out += fmt::format("Content-Length: {}\r\n\r\n", announced);
  out += body;
  return out;
}

std::string completion_body(const FakeReply& reply) {
  json content = reply.content;
  if (reply.content_as_parts) content = json::array({{{"type", "text"}, {"text", reply.content}}});
  return json{
      {"id", "chatcmpl-test"},
      {"object", "chat.completion"},
      {"model", "Visual-ERM"},
      {"choices",
       json::array(
           {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}})},
      {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 15}}}}
      .dump();
}

}  // namespace

FakeChatServer::FakeChatServer(Script script, std::shared_ptr<ConcurrencyMeter> meter)
    : script_(std::move(script)), meter_(meter ? std::move(meter) : std::make_shared<ConcurrencyMeter>()) {
  start_listening();
}

FakeChatServer::~FakeChatServer() {
  stop_listening();
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  wake_.notify_all();
  for (auto& t : handlers_) t.join();
}

std::string FakeChatServer::base_url() const {
  return fmt::format("http://127.0.0.1:{}/v1", port_);
}

void FakeChatServer::set_script(Script script) {
  std::lock_guard lock(mutex_);
  script_ = std::move(script);
}

void FakeChatServer::start_listening() {
  if (accepting_) return;
  listen_fd_ = listen_on(port_, &port_);
  accepting_ = true;
  acceptor_ = std::thread([this, fd = listen_fd_] { accept_loop(fd); });
}

void FakeChatServer::stop_listening() {
  if (!accepting_) return;
  accepting_ = false;
  acceptor_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void FakeChatServer::accept_loop(int listen_fd) {
  while (accepting_) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    handlers_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeChatServer::sleep_ms(int ms) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return shutting_down_; });
}

bool FakeChatServer::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

bool FakeChatServer::hold(int fd, FakeReply& reply) {
  const auto give_up = std::chrono::steady_clock::now() + kHoldLimit;
  while (!reply.hold_until()) {
    if (shutting_down()) return true;  // the reply goes to a client that is gone anyway
    if (std::chrono::steady_clock::now() >= give_up) {
      std::lock_guard lock(mutex_);
      ++holds_expired_;
      reply = FakeReply::drop();
      return true;
    }
    // The client sends nothing after its request: a readable socket is one it closed.
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 5) > 0) {
      char byte;
      if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0 || ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
        std::lock_guard lock(mutex_);
        ++abandoned_;
        return false;
      }
    }
  }
  return true;
}

void FakeChatServer::serve(int fd) {
  meter_->enter();
  // A client that stalls must not keep this thread alive for ever (a hang guard).
  timeval timeout{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  RecordedRequest request;
  if (!read_request(fd, request)) {
    meter_->leave();
    ::close(fd);
    return;
  }
  FakeReply reply;
  {
    std::lock_guard lock(mutex_);
    const size_t index = requests_.size();
    requests_.push_back(request);
    if (script_) reply = script_(index, requests_.back());
  }
  if (reply.hold_until && !hold(fd, reply)) {
    meter_->leave();
    ::close(fd);
    return;
  }
  if (reply.delay_ms > 0) sleep_ms(reply.delay_ms);
  // Leave before answering: the client counts the request as finished only once it has
  // the answer, so the meter never sees more than the client has in flight.
  meter_->leave();
  switch (reply.kind) {
    case FakeReply::Kind::answer:
      send_all(fd, http_response(200, completion_body(reply), {}, completion_body(reply).size()));
      break;
    case FakeReply::Kind::status:
      send_all(fd, http_response(reply.status, reply.body, reply.headers, reply.body.size()));
      break;
    case FakeReply::Kind::truncated:
      send_all(fd, http_response(200, R"({"choices": [{"mess)", {}, 1000));
      break;
    case FakeReply::Kind::drop:
      break;
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

size_t FakeChatServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

std::vector<RecordedRequest> FakeChatServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t FakeChatServer::abandoned_count() const {
  std::lock_guard lock(mutex_);
  return abandoned_;
}

size_t FakeChatServer::holds_expired() const {
  std::lock_guard lock(mutex_);
  return holds_expired_;
}

std::string refused_url() {
  uint16_t port = 0;
  const int fd = listen_on(0, &port);
  ::close(fd);
  return fmt::format("http://127.0.0.1:{}/v1", port);
}

}  // namespace visrl::test
