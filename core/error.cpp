#include "core/error.h"

namespace visrl {

Error::Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}

Error Error::with_context(std::string_view context) const {
  return Error(kind_, fmt::format("{}: {}", context, what()));
}

int Error::exit_code() const {
  return kind_ == ErrorKind::usage || kind_ == ErrorKind::config ? 2 : 1;
}

}  // namespace visrl
