#include "reward/openai/curl_transfer.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string_view>

#include "core/error.h"

namespace visrl::reward {

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) fail(ErrorKind::runtime, "curl_global_init failed: {}", curl_easy_strerror(code));
  });
}

CurlHeaders::CurlHeaders(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) {
      curl_slist_free_all(list_);
      throw std::bad_alloc();
    }
    list_ = next;
  }
}

CurlHeaders::~CurlHeaders() {
  curl_slist_free_all(list_);
}

namespace {

long to_ms(double seconds) {
  // At least 1 ms: 0 would mean "no timeout" to curl.
  return std::max(1L, static_cast<long>(seconds * 1000.0 + 0.5));
}

template <typename T>
void set(CURL* easy, CURLoption option, T value) {
  const CURLcode code = curl_easy_setopt(easy, option, value);
  if (code != CURLE_OK)
    fail(ErrorKind::runtime, "curl_easy_setopt({}): {}", static_cast<int>(option), curl_easy_strerror(code));
}

}  // namespace

Transfer::Transfer(const std::string& url, const std::string& body, const CurlHeaders& headers,
                   const TransferLimits& limits)
    : max_response_bytes_(static_cast<size_t>(std::max<int64_t>(1, limits.max_response_bytes))) {
  easy_ = curl_easy_init();
  if (easy_ == nullptr) fail(ErrorKind::runtime, "curl_easy_init failed");
  try {
    set(easy_, CURLOPT_URL, url.c_str());
    set(easy_, CURLOPT_POST, 1L);
    set(easy_, CURLOPT_POSTFIELDS, body.data());
    set(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    set(easy_, CURLOPT_HTTPHEADER, headers.get());
    set(easy_, CURLOPT_TIMEOUT_MS, to_ms(limits.timeout_s));
    set(easy_, CURLOPT_CONNECTTIMEOUT_MS, to_ms(std::min(limits.connect_timeout_s, limits.timeout_s)));
    set(easy_, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from the resolver: the trainer has threads
    set(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    set(easy_, CURLOPT_ACCEPT_ENCODING, "");  // whatever compression curl supports
    set(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    set(easy_, CURLOPT_WRITEDATA, static_cast<void*>(this));
    set(easy_, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    set(easy_, CURLOPT_HEADERDATA, static_cast<void*>(this));
    set(easy_, CURLOPT_ERRORBUFFER, errbuf_);
  } catch (...) {
    curl_easy_cleanup(easy_);
    throw;
  }
}

Transfer::~Transfer() {
  curl_easy_cleanup(easy_);
}

long Transfer::http_status() const {
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

std::string Transfer::error_text(CURLcode code) const {
  if (too_large_) return fmt::format("the answer exceeds {} bytes", max_response_bytes_);
  std::string_view detail(errbuf_);
  return detail.empty() ? std::string(curl_easy_strerror(code)) : std::string(detail);
}

size_t Transfer::on_body(char* data, size_t size, size_t count, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const size_t n = size * count;
  if (t->response_.size() + n > t->max_response_bytes_) {
    t->too_large_ = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  t->response_.append(data, n);
  return n;
}

size_t Transfer::on_header(char* data, size_t size, size_t count, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const size_t n = size * count;
  std::string_view line(data, n);
  // A new status line (after a 100 Continue, say) starts a new set of headers.
  if (line.starts_with("HTTP/")) t->retry_after_.reset();
  constexpr std::string_view kName = "retry-after:";
  if (line.size() >= kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (match) {
      line.remove_prefix(kName.size());
      t->retry_after_ = std::string(line);
    }
  }
  return n;
}

CurlMulti::CurlMulti() {
  ensure_curl_initialised();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) fail(ErrorKind::runtime, "curl_multi_init failed");
}

CurlMulti::~CurlMulti() {
  curl_multi_cleanup(multi_);
}

void CurlMulti::add(Transfer& transfer) {
  const CURLMcode code = curl_multi_add_handle(multi_, transfer.handle());
  if (code != CURLM_OK) fail(ErrorKind::runtime, "curl_multi_add_handle: {}", curl_multi_strerror(code));
}

void CurlMulti::remove(Transfer& transfer) {
  curl_multi_remove_handle(multi_, transfer.handle());
}

void CurlMulti::perform() {
  int running = 0;
  const CURLMcode code = curl_multi_perform(multi_, &running);
  if (code != CURLM_OK) fail(ErrorKind::runtime, "curl_multi_perform: {}", curl_multi_strerror(code));
}

void CurlMulti::wait(std::chrono::milliseconds max_wait) {
  // curl_multi_poll (unlike curl_multi_wait) also sleeps when no transfer is running, which
  // is what a backoff delay needs; it returns early on socket activity or curl's own timers.
  const CURLMcode code =
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::max<int64_t>(0, max_wait.count())), nullptr);
  if (code != CURLM_OK) fail(ErrorKind::runtime, "curl_multi_poll: {}", curl_multi_strerror(code));
}

std::optional<CurlMulti::Done> CurlMulti::next_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left))
    if (msg->msg == CURLMSG_DONE) return Done{msg->easy_handle, msg->data.result};
  return std::nullopt;
}

}  // namespace visrl::reward
