// The one exception type of visrl: a message that already names what was wrong and where
// (file, line, key, tensor, sample id), plus a kind that decides the process exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace visrl {

enum class ErrorKind {
  usage,    // bad command line
  config,   // bad configuration value or file
  io,       // a file or device could not be read or written
  format,   // a file's content is malformed (safetensors, JSON, ...)
  runtime,  // anything else that stops the run
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message);

  ErrorKind kind() const { return kind_; }

  // The same error with "context: " put in front, for callers that know where it happened.
  Error with_context(std::string_view context) const;

  // Process exit code: 2 for usage and configuration errors (as argparse and CLI11 do), 1 else.
  int exit_code() const;

 private:
  ErrorKind kind_;
};

// fail(kind, "format {}", args...) throws Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace visrl
