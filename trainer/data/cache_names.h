// Names of the files in a run's reference cache (<run_dir>/references/<task>/): rendered
// references, images extracted from Parquet cells, rasterised PDFs.
#pragma once

#include <filesystem>
#include <string>

namespace visrl::trainer {

// An item id as one file-name component: '/', '\', ' ' and ':' become '_'.
std::string cache_file_stem(const std::string& id);

// What identifies a source file's content without reading it: its absolute path, size and
// modification time (a changed file gets new cache entries).
std::string file_identity(const std::filesystem::path& file);

}  // namespace visrl::trainer
