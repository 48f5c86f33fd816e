// PDF pages as pixels, through poppler: the reference images of ChartMimic-style data sets are
// PDFs (name.py + name.pdf), rasterised once before training (trainer/data/reference_images.h).
#pragma once

#include <filesystem>

#include "render/render_types.h"

namespace visrl::render {

// The first page of `pdf` at `dpi` (a 6.4 x 4.8 in matplotlib figure at 100 dpi is 640 x 480, as
// the chart renderer draws it), on white. Throws Error(io) for a file that cannot be read and
// Error(format) for one that is not a PDF, is encrypted, has no page or does not render.
RgbImage rasterize_pdf(const std::filesystem::path& pdf, double dpi);

}  // namespace visrl::render
