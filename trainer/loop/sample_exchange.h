// Every rank's samples to every rank: the formula (batch_max_S, batch means), the advantages
// and the dynamic-sampling decision are computed on the global batch, identically on each
// rank, and rank 0 writes the rollout log. Samples travel as JSON lines (the rollout record
// plus the response token ids); renders stay where they were made.
#pragma once

#include <string>
#include <vector>

#include "trainer/distributed/communicator.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

std::string encode_sample(const RolloutSample& sample);
// Throws Error(format) naming `where` when the line is not a sample.
RolloutSample decode_sample(const std::string& line, const std::string& where);

// All ranks' samples in global order (prompt slot, then sample). One process: `local` as is.
std::vector<RolloutSample> gather_samples(Communicator& comm, std::vector<RolloutSample> local);

}  // namespace visrl::trainer
