// Reading training data, as `train` does it before step 1 and while it runs: load_data (rows ->
// items), the reference images made files (Parquet: extract_cell_images; JSONL: nothing to do),
// then every image decoded once (policy::read_image, what each prompt does). Prints one JSON
// object: rows, seconds per stage, rows/s overall and peak RSS. bench/trainer/data_read_bench.py
// runs it on the same items as JSONL + PNG files and as one Parquet file with the PNGs inside.
//
// usage: data_read_bench --data ENTRY --cache DIR
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/memory_info.h"
#include "core/program.h"
#include "policy/image/image_processor.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/parquet_dataset.h"

int main(int argc, char** argv) {
  CLI::App app{"visrl data_read_bench: rows/s of reading training data"};
  std::string data, cache;
  app.add_option("--data", data, "A data.train entry (JSONL manifest, Parquet file, folder)")->required();
  app.add_option("--cache", cache, "Where extracted images go (emptied first)")->required();
  CLI11_PARSE(app, argc, argv);
  return visrl::run_program([&] {
    using namespace visrl;
    using clock = std::chrono::steady_clock;
    std::filesystem::remove_all(cache);
    const auto t0 = clock::now();
    auto items = trainer::load_data({data}, trainer::InvalidRows::error);
    const auto t1 = clock::now();
    const auto extracted = trainer::extract_cell_images(items, cache);
    const auto t2 = clock::now();
    int64_t pixels = 0;
    for (const auto& item : items) pixels += policy::read_image(item.image).numel();  // [H, W, 3]
    const auto t3 = clock::now();
    auto s = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    const auto rows = static_cast<double>(items.size());
    nlohmann::json out = {{"data", data},
                          {"rows", items.size()},
                          {"extracted", extracted},
                          {"load_s", s(t0, t1)},
                          {"extract_s", s(t1, t2)},
                          {"decode_s", s(t2, t3)},
                          {"total_s", s(t0, t3)},
                          {"rows_per_s", rows / s(t0, t3)},
                          {"rows_per_s_before_decode", rows / s(t0, t2)},
                          {"pixels", pixels},
                          {"peak_rss_mb", static_cast<double>(peak_rss_bytes()) / (1 << 20)}};
    std::cout << out.dump() << "\n";
    return 0;
  });
}
