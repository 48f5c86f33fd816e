#include "render/worker/protocol.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace visrl::render::protocol {
namespace {

void write_all(int fd, const char* data, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) fail(ErrorKind::io, "render worker pipe: the worker did not take its request in time");
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
      continue;
    }
    if (n < 0) fail(ErrorKind::io, "render worker pipe: write: {}", std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// false when the deadline passed first.
bool read_all(int fd, char* data, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) fail(ErrorKind::io, "render worker pipe: poll: {}", std::strerror(errno));
    if (ready == 0) continue;
    const ssize_t n = read(fd, data, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) fail(ErrorKind::io, "render worker pipe: read: {}", std::strerror(errno));
    if (n == 0) fail(ErrorKind::io, "render worker pipe: closed by the worker");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

size_t header_length(const unsigned char* prefix) {
  const size_t length = prefix[0] | (prefix[1] << 8) | (prefix[2] << 16) | (static_cast<size_t>(prefix[3]) << 24);
  if (length > kMaxHeaderBytes) fail(ErrorKind::format, "render worker frame: header of {} bytes", length);
  return length;
}

Frame parse_header(std::string_view text) {
  Frame frame;
  frame.header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!frame.header.is_object()) fail(ErrorKind::format, "render worker frame: header is not a JSON object");
  const auto& declared = frame.header.contains("payload_bytes") ? frame.header["payload_bytes"] : nlohmann::json(0);
  if (!declared.is_number_integer() || declared.get<int64_t>() < 0)
    fail(ErrorKind::format, "render worker frame: payload_bytes is not a count");
  const auto bytes = declared.get<size_t>();
  if (bytes > kMaxPayloadBytes) fail(ErrorKind::format, "render worker frame: payload of {} bytes", bytes);
  frame.payload.resize(bytes);
  return frame;
}

}  // namespace

void write_frame(int fd, const nlohmann::json& header, std::string_view payload, Clock::time_point deadline) {
  nlohmann::json h = header;
  if (!payload.empty()) h["payload_bytes"] = payload.size();
  // Replace, not throw, on invalid UTF-8: answers are untrusted text.
  const std::string text = h.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const auto length = static_cast<uint32_t>(text.size());
  const char prefix[4] = {static_cast<char>(length & 0xFF), static_cast<char>((length >> 8) & 0xFF),
                          static_cast<char>((length >> 16) & 0xFF), static_cast<char>((length >> 24) & 0xFF)};
  write_all(fd, prefix, 4, deadline);
  write_all(fd, text.data(), text.size(), deadline);
  write_all(fd, payload.data(), payload.size(), deadline);
}

std::optional<Frame> read_frame(int fd, Clock::time_point deadline) {
  unsigned char prefix[4];
  if (!read_all(fd, reinterpret_cast<char*>(prefix), 4, deadline)) return std::nullopt;
  std::string text(header_length(prefix), '\0');
  if (!read_all(fd, text.data(), text.size(), deadline)) return std::nullopt;
  Frame frame = parse_header(text);
  if (!read_all(fd, frame.payload.data(), frame.payload.size(), deadline)) return std::nullopt;
  return frame;
}

Frame decode_frame(std::string_view bytes) {
  if (bytes.size() < 4) fail(ErrorKind::format, "render worker frame: {} bytes", bytes.size());
  const size_t length = header_length(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (bytes.size() < 4 + length) fail(ErrorKind::format, "render worker frame: truncated header");
  Frame frame = parse_header(bytes.substr(4, length));
  if (bytes.size() != 4 + length + frame.payload.size())
    fail(ErrorKind::format, "render worker frame: payload of {} bytes, expected {}", bytes.size() - 4 - length,
         frame.payload.size());
  std::memcpy(frame.payload.data(), bytes.data() + 4 + length, frame.payload.size());
  return frame;
}

}  // namespace visrl::render::protocol
