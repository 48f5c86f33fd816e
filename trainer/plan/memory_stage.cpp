#include "trainer/plan/memory_stage.h"

#include <atomic>
#include <new>

#include <c10/util/Exception.h>

namespace visrl::trainer {
namespace {
std::atomic<const char*> g_stage{nullptr};
}  // namespace

MemoryStage::MemoryStage(const char* what) : previous_(g_stage.exchange(what)) {}
MemoryStage::~MemoryStage() {
  g_stage.store(previous_);
}

std::string MemoryStage::current() {
  const char* stage = g_stage.load();
  return stage ? stage : "";
}

bool is_out_of_memory(const std::exception& e, std::string* what) {
  std::string message;
  bool oom = false;
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    oom = true;
    message = "std::bad_alloc";
  } else if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    message = c10_error->what_without_backtrace();
    oom = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
          message.find("not enough memory") != std::string::npos ||
          message.find("can't allocate memory") != std::string::npos ||
          message.find("out of memory") != std::string::npos;
  }
  if (oom && what != nullptr) *what = message.substr(0, message.find('\n'));
  return oom;
}

}  // namespace visrl::trainer
