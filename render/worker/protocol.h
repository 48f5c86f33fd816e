// Framing between the pool and a render worker, and between a worker and its job child:
// a 4-byte little-endian header length, a JSON header, then `payload_bytes` raw bytes
// (pixels) when the header says so. The Python chart server speaks the same format.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace visrl::render::protocol {

struct Frame {
  nlohmann::json header;
  std::string payload;
};

inline constexpr size_t kMaxHeaderBytes = 16u << 20;    // the answer text travels in the header
inline constexpr size_t kMaxPayloadBytes = 512u << 20;  // a 8192 x 8192 RGBA image is 256 MiB

using Clock = std::chrono::steady_clock;

// Writes a whole frame; throws visrl::Error(io) if the peer is gone or, for a non-blocking
// fd, has not taken the frame by `deadline` (a stopped worker must not block the pool).
void write_frame(int fd, const nlohmann::json& header, std::string_view payload = {},
                 Clock::time_point deadline = Clock::time_point::max());

// Reads one frame before `deadline`. nullopt when the deadline passed first; throws
// visrl::Error(io) on EOF (the peer died) and Error(format) on a malformed frame.
std::optional<Frame> read_frame(int fd, Clock::time_point deadline);

// A frame held in memory (what a job child wrote before exiting). Throws Error(format).
Frame decode_frame(std::string_view bytes);

}  // namespace visrl::render::protocol
