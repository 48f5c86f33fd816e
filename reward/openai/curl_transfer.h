// Thin RAII wrappers over libcurl: one POST (an easy handle with its answer buffers) and
// the multi handle that runs many of them on the calling thread.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace visrl::reward {

// curl_global_init, once per process.
void ensure_curl_initialised();

// A header list owned by the caller of Transfer (shared by every request).
class CurlHeaders {
 public:
  explicit CurlHeaders(const std::vector<std::string>& lines);
  ~CurlHeaders();
  CurlHeaders(const CurlHeaders&) = delete;
  CurlHeaders& operator=(const CurlHeaders&) = delete;
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct TransferLimits {
  double timeout_s = 120;
  double connect_timeout_s = 10;
  int64_t max_response_bytes = 16 << 20;
};

// One POST. `body` and `headers` are borrowed and must outlive the transfer.
class Transfer {
 public:
  Transfer(const std::string& url, const std::string& body, const CurlHeaders& headers, const TransferLimits& limits);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* handle() const { return easy_; }
  // After completion: the HTTP status (0 when no answer), the body and Retry-After.
  long http_status() const;
  const std::string& response() const { return response_; }
  const std::optional<std::string>& retry_after() const { return retry_after_; }
  bool response_too_large() const { return too_large_; }
  // curl's explanation of a transport failure, e.g. "Connection refused".
  std::string error_text(CURLcode code) const;

 private:
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static size_t on_header(char* data, size_t size, size_t count, void* self);

  CURL* easy_ = nullptr;
  std::string response_;
  std::optional<std::string> retry_after_;
  size_t max_response_bytes_ = 0;
  bool too_large_ = false;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

class CurlMulti {
 public:
  CurlMulti();
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  void add(Transfer& transfer);
  void remove(Transfer& transfer);
  // Drives the transfers, then waits at most `max_wait` for activity.
  void perform();
  void wait(std::chrono::milliseconds max_wait);
  // A finished transfer and its result code; nullopt when none is left to report.
  struct Done {
    CURL* easy;
    CURLcode code;
  };
  std::optional<Done> next_done();

 private:
  CURLM* multi_ = nullptr;
};

}  // namespace visrl::reward
