// The outer frame of every visrl program: errors become a message on stderr and an exit
// code (2 for usage and configuration errors, 1 for the rest), never an uncaught exception.
#pragma once

#include <cstdio>
#include <exception>

#include "core/error.h"

namespace visrl {

template <typename Body>
int run_program(Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace visrl
