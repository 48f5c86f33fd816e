# Finds LibTorch and exposes it as the interface target `visrl::torch`.
#
# Where LibTorch comes from, first match wins:
#   1. -DTorch_DIR=<libtorch>/share/cmake/Torch or -DCMAKE_PREFIX_PATH=<libtorch> (your own build,
#      e.g. the CUDA LibTorch of a GPU cluster);
#   2. the environment variable VISRL_TORCH_DIR=<libtorch root>;
#   3. the PyPI wheel that ./scripts/setup unpacks into $VISRL_CACHE/torch-<version>/
#      (VISRL_CACHE defaults to ~/.cache/visrl).
#
# The PyPI wheel is a CUDA build whose CUDA runtime, cuDNN, NCCL, ... live next to it under
# site-packages/nvidia/*/lib (found at run time through libtorch_cuda.so's RPATH). A CUDA
# toolkit installed on the machine may carry older copies of the same sonames (here: NCCL
# 2.28 vs the 2.30 torch was built with), so for the wheel we make the linker and the NCCL
# header resolve to the wheel's copies.

file(STRINGS "${PROJECT_SOURCE_DIR}/scripts/torch.version" VISRL_TORCH_VERSION LIMIT_COUNT 1)

if(NOT Torch_DIR)
  if(DEFINED ENV{VISRL_TORCH_DIR})
    set(_torch_root "$ENV{VISRL_TORCH_DIR}")
  else()
    set(_torch_root "${VISRL_CACHE_DIR}/torch-${VISRL_TORCH_VERSION}/torch")
  endif()
  if(EXISTS "${_torch_root}/share/cmake/Torch/TorchConfig.cmake")
    set(Torch_DIR "${_torch_root}/share/cmake/Torch" CACHE PATH "LibTorch CMake package")
  endif()
endif()

# Without an explicit architecture list, Caffe2's CMake compiles and runs a CUDA program to
# detect GPUs, which fails on machines without one. Users with GPUs can override this.
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "8.0;9.0" CACHE STRING "CUDA architectures (skips GPU detection)")
endif()

# Wheel layout: <site-packages>/torch/share/cmake/Torch and <site-packages>/nvidia/*/lib.
set(_wheel_nvidia "")
if(Torch_DIR)
  get_filename_component(_site "${Torch_DIR}/../../../.." ABSOLUTE)
  if(IS_DIRECTORY "${_site}/nvidia")
    set(_wheel_nvidia "${_site}/nvidia")
    file(GLOB _nvrtc "${_wheel_nvidia}/*/lib/libnvrtc.so.[0-9]*")
    if(_nvrtc)
      list(GET _nvrtc 0 _nvrtc)
      set(CUDA_NVRTC_LIB "${_nvrtc}" CACHE FILEPATH "NVRTC library matching LibTorch")
    endif()
  endif()
endif()

find_package(Torch 2.4 REQUIRED)
if(NOT Torch_FOUND)
  message(FATAL_ERROR "LibTorch >= 2.4 not found: run ./scripts/setup or pass -DTorch_DIR=...")
endif()

add_library(visrl_torch INTERFACE)
add_library(visrl::torch ALIAS visrl_torch)

# torch/include ships fmt 12 headers, while Debian's spdlog is built against Debian's fmt 9.
# An include directory placed before torch's, holding only a link to the system fmt, makes
# `#include <fmt/...>` resolve to the fmt spdlog was built with.
find_package(fmt REQUIRED)
get_target_property(_fmt_inc fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
find_path(VISRL_FMT_HEADER_DIR fmt/format.h HINTS ${_fmt_inc} NO_DEFAULT_PATH)
if(NOT VISRL_FMT_HEADER_DIR)
  find_path(VISRL_FMT_HEADER_DIR fmt/format.h)
endif()
set(_fmt_shim "${CMAKE_BINARY_DIR}/fmt-shim")
file(MAKE_DIRECTORY "${_fmt_shim}")
file(CREATE_LINK "${VISRL_FMT_HEADER_DIR}/fmt" "${_fmt_shim}/fmt" SYMBOLIC)
target_include_directories(visrl_torch SYSTEM BEFORE INTERFACE "${_fmt_shim}")

if(_wheel_nvidia)
  file(GLOB _nv_libdirs LIST_DIRECTORIES true "${_wheel_nvidia}/*/lib")
  list(JOIN _nv_libdirs ":" _nv_path)
  target_link_options(visrl_torch INTERFACE "LINKER:-rpath-link,${_nv_path}")
  if(IS_DIRECTORY "${_wheel_nvidia}/nccl/include")
    target_include_directories(visrl_torch SYSTEM BEFORE INTERFACE "${_wheel_nvidia}/nccl/include")
  endif()
  file(GLOB _cudart "${_wheel_nvidia}/*/lib/libcudart.so.[0-9]*")
  if(_cudart AND TARGET CUDA::cudart)
    list(GET _cudart 0 _cudart)
    set_target_properties(CUDA::cudart PROPERTIES IMPORTED_LOCATION "${_cudart}")
  endif()
endif()

target_link_libraries(visrl_torch INTERFACE torch)
target_compile_options(visrl_torch INTERFACE ${TORCH_CXX_FLAGS})

# Whether this LibTorch has CUDA compiled in (decides which code paths we build).
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(VISRL_TORCH_HAS_CUDA ON)
else()
  set(VISRL_TORCH_HAS_CUDA OFF)
endif()
message(STATUS "visrl: LibTorch ${Torch_VERSION} at ${Torch_DIR} (CUDA: ${VISRL_TORCH_HAS_CUDA})")
