// Training items from folders, besides JSONL manifests. A `data.train` / `data.val` entry that
// is a directory holds, per item, a code file and/or an image sharing a stem:
//
//   ChartMimic style   bar_3.py + bar_3.png     chart, ground truth = the script
//                      bar_3.py + bar_3.pdf     the same, the PDF rasterised at data.pdf_dpi
//                                               (a PNG beside it wins, then a JPEG)
//   tables             t1.md or t1.html + png   table
//   SVG                logo.svg (+ logo.png)    svg
//   plain images       x.png / x.jpg alone      no ground truth; the task comes from a prefix:
//                                               "table:data/scans" (also allowed on the others)
//
// A code file without an image gets its reference rendered before training
// (reference_images.h). Ids are "<folder name>/<stem>". Files are taken in name order.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "trainer/data/manifest.h"

namespace visrl::trainer {

// Throws Error(format) naming the folder: no item found, an image-only folder without a task
// prefix, an unreadable code file. `invalid` decides for a single bad file (skip or throw).
std::vector<DataItem> load_folder(const std::string& entry, InvalidRows invalid);

// Every entry of `data.train` (or `data.val`): *.jsonl manifests, *.parquet files
// (parquet_dataset.h, columns as `columns` maps them) and folders, in order; ids must be unique
// across all of them.
std::vector<DataItem> load_data(const std::vector<std::string>& entries, InvalidRows invalid,
                                const DataColumns& columns = {});

}  // namespace visrl::trainer
