// What the trainer is doing, for an allocation that fails: `train` turns LibTorch's raw
// allocator error into "out of memory while <stage>" followed by the memory plan.
#pragma once

#include <string>

namespace visrl::trainer {

// Names the current stage for as long as it lives (stages nest; the innermost is reported).
class MemoryStage {
 public:
  explicit MemoryStage(const char* what);
  ~MemoryStage();
  MemoryStage(const MemoryStage&) = delete;
  MemoryStage& operator=(const MemoryStage&) = delete;

  static std::string current();  // "" outside any stage

 private:
  const char* previous_;
};

// Whether an exception is an allocation failure: std::bad_alloc, LibTorch's CPU allocator
// ("not enough memory") or CUDA's out-of-memory error. Fills `what` with its first line.
bool is_out_of_memory(const std::exception& e, std::string* what);

}  // namespace visrl::trainer
