// <run_dir>/gallery.html: a sample of a run's rollouts as one self-contained page (images
// embedded as data URIs, so it opens anywhere and survives moving the run directory):
// reference | render | critic errors | reward and advantage, with the answer folded below.
// Renders exist for the steps logging.images_every saved (rollout_image_path).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace visrl::trainer {

// Where the trainer saves the render of sample `sample_id` of `step`:
// <rollouts_dir>/images/step_<N>/<id with / \ and spaces as _>.png
std::filesystem::path rollout_image_path(const std::filesystem::path& rollouts_dir, int64_t step,
                                         const std::string& sample_id);

struct GalleryOptions {
  int64_t max_samples = 48;  // taken evenly from the newest steps with saved renders (else any)
};

// `references`: prompt id -> reference image. Returns the path written (atomically). Throws
// Error naming a rollout line that cannot be read.
std::filesystem::path write_gallery(const std::filesystem::path& run_dir,
                                    const std::map<std::string, std::filesystem::path>& references,
                                    const GalleryOptions& options = {});

}  // namespace visrl::trainer
