// Test helper for transformers_loads_test.sh: load_pretrained(IN), then save_pretrained(OUT).
// Usage: qwen3vl_resave IN OUT [MAX_SHARD_BYTES [DTYPE]]
#include <cstdio>
#include <string>

#include "core/program.h"
#include "policy/model/hf_checkpoint.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s IN OUT [MAX_SHARD_BYTES [float32|bfloat16]]\n", argv[0]);
    return 2;
  }
  return visrl::run_program([&] {
    auto model = visrl::policy::load_pretrained(argv[1]);
    visrl::policy::SaveOptions options;
    options.copy_assets_from = std::filesystem::path(argv[1]);
    if (argc > 3) options.max_shard_bytes = std::stoull(argv[3]);
    if (argc > 4) options.dtype = visrl::policy::dtype_from_name(argv[4], "DTYPE");
    visrl::policy::save_pretrained(*model, argv[2], options);
    return 0;
  });
}
