// Rank-local work whose failure must stop every rank, not leave the others waiting in the next
// collective until the timeout: every rank runs `body`, then all exchange their errors (one
// gather) and, if any rank failed, all throw Error naming that rank and what it was doing.
#pragma once

#include <exception>
#include <string>

#include "core/error.h"
#include "trainer/distributed/communicator.h"

namespace visrl::trainer {

template <typename Body>
void on_every_rank(Communicator& comm, const char* what, Body&& body, ErrorKind kind = ErrorKind::runtime) {
  std::string error;
  try {
    body();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  const auto errors = comm.gather_strings(error);
  for (size_t r = 0; r < errors.size(); ++r) {
    if (!errors[r].empty()) throw Error(kind, fmt::format("{} failed on rank {}: {}", what, r, errors[r]));
  }
}

}  // namespace visrl::trainer
