// The checkpoints of a run on disk, and how a reader knows one is complete:
//
//   <run_dir>/checkpoints/step_<N>/        one checkpoint, taken after step N
//     model/                               Hugging Face directory (config.json, safetensors
//                                          shards + index, tokenizer files, chat template)
//     optimizer/                           AdamW state by parameter name (absent when model_only)
//     config.yaml                          the run's resolved configuration
//     trainer_state.json                   TrainerState
//     checkpoint.json                      written last: every other file, its size and CRC-32
//   <run_dir>/checkpoints/step_<N>.tmp/    a checkpoint being written; never read
//   <run_dir>/checkpoints/latest           "step_<N>", replaced once step_<N> is complete
//
// A checkpoint directory only ever appears under its final name after every file in it was
// fsynced and checkpoint.json was written, so a kill at any moment leaves the newest complete
// checkpoint intact; verify_checkpoint also catches later truncation and flipped bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace visrl::trainer {

// `path` made absolute and normal, without a trailing separator ("runs/a/" -> "/cwd/runs/a"),
// so that its filename and parents are what the user meant.
std::filesystem::path absolute_dir(const std::filesystem::path& path);

std::filesystem::path checkpoint_path(const std::filesystem::path& checkpoints_dir, int64_t step);
// N for a directory named step_<N>, nothing for anything else (step_3.tmp, latest, ...).
std::optional<int64_t> checkpoint_step(const std::filesystem::path& dir);
// The step_<N> directories, by ascending N.
std::vector<std::pair<int64_t, std::filesystem::path>> list_checkpoints(const std::filesystem::path& checkpoints_dir);

// Records every file under `dir` with its size and CRC-32 in dir/checkpoint.json (atomically).
// `known_crc32` (path relative to `dir` -> CRC-32) spares re-reading files whose writer already
// computed it: each rank checksums its own optimizer shard, in parallel.
void write_manifest(const std::filesystem::path& dir, int64_t step,
                    const std::map<std::string, uint32_t>& known_crc32 = {});
// Checks that `dir` is a complete, undamaged checkpoint; throws Error(format) naming the
// checkpoint and the file that is missing, truncated or corrupted, or the manifest problem.
void verify_checkpoint(const std::filesystem::path& dir);

// The newest checkpoint of `checkpoints_dir` that verifies; each damaged one it passed over is
// appended to `skipped` as "<dir>: <why>". Nothing when there is none.
std::optional<std::filesystem::path> newest_complete_checkpoint(const std::filesystem::path& checkpoints_dir,
                                                                std::vector<std::string>* skipped);
// `path` is a checkpoint (step_<N>), a checkpoints directory or a run directory (its newest
// complete checkpoint); the result is absolute and normalised. Throws Error(format) when the checkpoint is damaged or
// none is found; damaged newer ones that were skipped are logged as warnings.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& path);

// checkpoints/latest, written atomically after step_<N> is complete; read by people and tools.
void write_latest(const std::filesystem::path& checkpoints_dir, int64_t step);

// Removes every checkpoint that is neither among the newest `keep_last` nor a milestone (a
// step that is a multiple of milestone_every > 0), and leftover step_<N>.tmp directories.
// Returns what it removed.
std::vector<std::filesystem::path> prune_checkpoints(const std::filesystem::path& checkpoints_dir, int64_t keep_last,
                                                     int64_t milestone_every);

// Moves checkpoints newer than `step` into checkpoints/abandoned-<time>/ (a resume from an older
// checkpoint starts a new future; the old one is kept, not deleted). Returns what it moved.
std::vector<std::filesystem::path> set_aside_newer_checkpoints(const std::filesystem::path& checkpoints_dir,
                                                               int64_t step);

}  // namespace visrl::trainer
