# Precompiled LibTorch headers, built once and shared by every target that compiles against
# LibTorch.
#
# Most of the build's time is the compiler reading the same headers again: on a 2-core machine
# <ATen/ATen.h> takes ~9 s per source file, torch's nn module headers ~5 s more and
# nlohmann/json ~2 s, while loading all of them precompiled takes ~4 s (trainer/loop/trainer.cpp:
# 36 s -> 20 s; policy/model/qwen3vl.cpp: 21 s -> 10 s). A source file that includes none of
# them would only pay the load, so `SKIP` lists those.
#
# visrl_torch_pch(<target> [SKIP <source>...]): compile <target>'s sources with the shared
# precompiled headers, except the SKIP ones. A precompiled header the compiler cannot use
# (different flags) is reported by -Winvalid-pch instead of silently costing every file a full
# parse of all of it. -DVISRL_PRECOMPILE_HEADERS=OFF builds without.
option(VISRL_PRECOMPILE_HEADERS "Precompile the LibTorch headers once for all targets that use them" ON)

if(VISRL_PRECOMPILE_HEADERS)
  # Its usage requirements (defines, include directories, flags) are those of the targets that
  # reuse it: a precompiled header is only valid with the flags it was built with.
  add_library(visrl_torch_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
  target_link_libraries(visrl_torch_pch PRIVATE visrl::torch spdlog::spdlog fmt::fmt nlohmann_json::nlohmann_json)
  if(VISRL_TORCH_HAS_CUDA)
    target_compile_definitions(visrl_torch_pch PRIVATE VISRL_WITH_CUDA)
  endif()
  visrl_target_defaults(visrl_torch_pch)
  target_precompile_headers(visrl_torch_pch PRIVATE
    <ATen/ATen.h>
    <torch/nn/module.h>
    <torch/nn/modules/container/modulelist.h>
    <torch/nn/modules/embedding.h>
    <torch/nn/modules/linear.h>
    <torch/nn/modules/normalization.h>
    <nlohmann/json.hpp>)
endif()

function(visrl_torch_pch target)
  cmake_parse_arguments(ARG "" "" "SKIP" ${ARGN})
  if(NOT VISRL_PRECOMPILE_HEADERS)
    return()
  endif()
  target_precompile_headers(${target} REUSE_FROM visrl_torch_pch)
  target_compile_options(${target} PRIVATE -Winvalid-pch)
  if(ARG_SKIP)
    set_source_files_properties(${ARG_SKIP} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
endfunction()
