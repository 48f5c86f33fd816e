// Helpers of the openai critic tests: images, base64/PNG decoding of the request images
// (core's decoder, tested on its own in tests/core, and cairo's PNG reader), a spdlog
// capture, a wait on a condition, critique texts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "core/base64.h"
#include "render/png_io.h"
#include "render/render_types.h"
#include "tests/test_util.h"

namespace visrl::test {

// A w x h image whose pixels all differ a little (so a downscale changes them).
inline render::RgbImage pattern_image(int w, int h, int seed = 0) {
  render::RgbImage img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>((x * 7 + seed) % 256);
      p[1] = static_cast<uint8_t>((y * 13 + seed * 3) % 256);
      p[2] = static_cast<uint8_t>((x * y + seed * 5) % 256);
    }
  return img;
}

// Strict: the encoder pads, so the length must be a multiple of 4.
inline std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw std::runtime_error("base64 length is not a multiple of 4");
  std::optional<std::string> bytes = visrl::base64_decode(text);
  if (!bytes) throw std::runtime_error("not base64");
  return *bytes;
}

// The image of a "data:image/png;base64,..." URL (through a file and the PNG reader).
inline render::RgbImage decode_png_data_url(const std::string& url) {
  constexpr std::string_view kPrefix = "data:image/png;base64,";
  if (url.rfind(kPrefix, 0) != 0) throw std::runtime_error("not a PNG data URL: " + url.substr(0, 40));
  TempDir dir;
  const auto path = dir.write("image.png", base64_decode(std::string_view(url).substr(kPrefix.size())));
  return render::read_png(path);
}

// A spdlog sink into a string that may be read while other threads log.
class StringSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    text_.append(line.data(), line.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

// Everything logged through spdlog's default logger while alive, at debug level and up.
// text() may be called while another thread logs (a critic scoring in the background).
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<StringSink>()), previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const { return sink_->text(); }

 private:
  std::shared_ptr<StringSink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// How long a test waits for a condition at most: a hang guard, far above what any condition
// takes on a loaded machine. A wait that runs out fails the test, naming the condition.
inline constexpr std::chrono::seconds kConditionWait{60};

// Polls `condition` every 5 ms until it holds (true) or `limit` passes (its last value).
template <typename Condition>
bool wait_for(Condition condition, std::chrono::steady_clock::duration limit = kConditionWait) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= give_up) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline size_t count_of(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A well-formed chart critique with one severity-2 data error.
inline const std::string kChartCritique =
    R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3", "description": "bar too short"}],)"
    R"( "counts": {"structure_error": 0, "data_error": 1, "text_error": 0, "style_error": 0}})";
// A table critique with one severity-3 numeric error.
inline const std::string kTableCritique =
    R"({"errors": [{"type": "numeric_error", "severity": 3, "description": "row 2 reads 14.5, not 145"}],)"
    R"( "counts": {"layout_error": 0, "text_error": 0, "numeric_error": 1}})";
// No discrepancy: valid for every task.
inline const std::string kNoErrors = R"({"errors": []})";
// Prose without any JSON: the parser cannot use it.
inline const std::string kNotACritique = "I am sorry, I cannot compare these two images.";

}  // namespace visrl::test
