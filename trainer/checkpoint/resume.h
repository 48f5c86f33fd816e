// What a resumed run does besides loading tensors: tells the user what differs from the run
// that wrote the checkpoint, and puts the run directory back to the checkpoint's step.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "trainer/checkpoint/trainer_state.h"

namespace visrl::trainer {

// One line per difference that changes what the resumed steps do: the seed, the data (size,
// shuffle), the LR schedule, the reward formula, and configuration lines that differ. Empty
// when the resume continues the same run.
std::vector<std::string> resume_differences(const TrainerState& saved, const TrainerState& now,
                                            const std::string& saved_config_yaml, const std::string& config_yaml);

// Takes `metrics` back to the steps a checkpoint includes: lines of steps after `step` (written
// before the run was killed, or by a future being replaced) and a last line cut short are moved
// to `<stem>.discarded-<time>.jsonl` next to it rather than lost. By step number, not by the
// checkpoint's byte offset, so that it also holds for a log that is not the one the checkpoint
// was taken with (checkpoints copied between run directories). Returns the file the lines went
// to, or an empty path when nothing was moved (or there is no log).
std::filesystem::path rewind_metrics(const std::filesystem::path& metrics, int64_t step);

}  // namespace visrl::trainer
