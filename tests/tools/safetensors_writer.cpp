// Writes the Python-made fixtures back out with visrl's writer, into OUT_DIR:
//   OUT_DIR/all_dtypes.safetensors   every dtype, with the fixture's metadata
//   OUT_DIR/sharded/                 the sharded fixture, re-sharded into 3 files + index
// tests/fixtures/safetensors/generate.py check then reads them with the Python package.
#include <cstdio>

#include "core/error.h"
#include "core/safetensors.h"

int main(int argc, char** argv) {
  using namespace visrl::safetensors;
  if (argc != 2) {
    std::fprintf(stderr, "usage: safetensors_writer OUT_DIR\n");
    return 2;
  }
  try {
    const std::filesystem::path fixtures = VISRL_SOURCE_DIR "/tests/fixtures/safetensors";
    const std::filesystem::path out = argv[1];
    auto copy = [](const Checkpoint& ckpt) {
      NamedTensors tensors;
      for (const auto& name : ckpt.names()) tensors.push_back({name, ckpt.tensor(name)});
      return tensors;
    };
    Checkpoint all = Checkpoint::open(fixtures / "all_dtypes.safetensors");
    save_file(out / "all_dtypes.safetensors", copy(all), all.metadata());
    Checkpoint sharded = Checkpoint::open(fixtures / "sharded");
    save_sharded(out / "sharded", copy(sharded), /*max_shard_bytes=*/150, {{"format", "pt"}});
    std::printf("wrote %s\n", out.c_str());
    return 0;
  } catch (const visrl::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
