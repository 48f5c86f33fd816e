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

// Cuts `metrics` back to its first `offset` bytes (the steps the checkpoint includes). Lines of
// later steps, written before the run was killed, are moved to `<stem>.discarded-<time>.jsonl`
// next to it rather than lost. Returns that file, or an empty path when nothing was cut (also
// when the file is missing or shorter than `offset`, which is only warned about: a log file
// never stops a resume).
std::filesystem::path rewind_metrics(const std::filesystem::path& metrics, int64_t offset);

}  // namespace visrl::trainer
