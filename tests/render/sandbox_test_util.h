// What the sandbox tests share: the pool options hostile answers run under, a chart request
// from code, and a status check that prints the reason.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "render/render_pool.h"

namespace visrl::test {

using render::RenderKind;
using render::RenderPoolOptions;
using render::RenderRequest;
namespace sandbox = render::sandbox;

inline constexpr double kTimeout = 3.0;

inline RenderPoolOptions hostile_options(std::optional<sandbox::IsolationLevel> level = std::nullopt) {
  RenderPoolOptions o;
  o.workers = 2;
  o.timeout_s = kTimeout;
  o.cpu_s = 2;
  o.memory_mb = 1024;
  o.max_output_kb = 64;
  o.isolation = level;
  o.prefault = true;  // the job children take their job while prefaulting
  return o;
}

inline RenderRequest chart(std::string code) {
  RenderRequest r;
  r.kind = RenderKind::chart;
  r.text = "```python\nimport matplotlib.pyplot as plt\n" + std::move(code) + "\n```";
  return r;
}

}  // namespace visrl::test

#define EXPECT_STATUS(result, expected) \
  EXPECT_EQ((result).status, RenderStatus::expected) << to_string((result).status) << ": " << (result).reason
