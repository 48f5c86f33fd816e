// Synthetic (reference, light corruption, heavy corruption) triples with annotated, injected
// errors, for evaluating visual critics without human labels. Scenes are drawn natively:
// SVG drawings and chart-like SVG scenes through render_svg, markdown tables through
// render_table. Seeded: the same (task, seed) gives the same triples on every platform (the
// generator uses std::mt19937_64 with its own integer/real mappings, not the library's
// distributions), and triple i does not depend on how many triples are asked for.
//
// Injected severities follow REFERENCE.md section 1 (1 minor, 2 medium, 3 severe) and are set
// from the magnitude of each corruption (see README.md for the rules per task). A light
// corruption is one error of severity 1 or 2; a heavy one is three errors of other kinds,
// mostly severity 2-3.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "render/render_types.h"
#include "reward/critic.h"

namespace visrl::reward::eval {

// One injected discrepancy, in the VC-RewardBench schema (`type` = a task category).
struct InjectedError {
  std::string category;  // one of task_categories(task)
  int severity = 1;
  std::string description;
};

// One image of a triple and the source it was rendered from.
struct SyntheticImage {
  std::string code;  // SVG document or markdown table
  render::RgbImage image;
  std::vector<InjectedError> errors;  // empty for the reference and the clean re-render
};

struct SyntheticTriple {
  std::string id;  // "<task>-<seed>-<index>", e.g. "svg-7-0003"
  Task task = Task::svg;
  SyntheticImage reference;
  SyntheticImage clean;  // the reference drawn again from differently formatted, equivalent code
  SyntheticImage light;
  SyntheticImage heavy;
};

struct SyntheticOptions {
  int svg_size = 336;  // SVG drawings: square canvas, as the released pipeline renders them
  int chart_width = 640;
  int chart_height = 480;
};

// Triples `first` .. `first + count - 1` of a task for a seed. Throws visrl::Error when a
// scene fails to render (a generator bug, never expected).
std::vector<SyntheticTriple> generate_triples(Task task, int count, uint64_t seed, const SyntheticOptions& options = {},
                                              int first = 0);

struct TripleWriteOptions {
  bool include_clean = false;  // also write the clean re-render as an item without errors
  bool include_code = true;    // add gt_code / pred_code (the sources) to each line
  bool append = false;         // add to an existing triples.jsonl (writing in batches)
};

// Writes `dir`/images/<id>_{ref,light,heavy}.png (and _clean.png) and `dir`/triples.jsonl, one
// line per corrupted image (and clean one) in the VC-RewardBench format of REFERENCE.md section 5:
//   {"id", "triple", "level": "light"|"heavy"|"clean", "category": "chart"|"table"|"svg",
//    "gt_img_path", "pred_img_path" (relative to `dir`),
//    "human_errors": [{"type", "severity", "description"}], "gt_code", "pred_code"}
// Creates `dir`; returns the path of the JSONL file. Throws visrl::Error(io) naming the path
// that could not be written.
std::filesystem::path write_triples(const std::filesystem::path& dir, const std::vector<SyntheticTriple>& triples,
                                    const TripleWriteOptions& options = {});

}  // namespace visrl::reward::eval
