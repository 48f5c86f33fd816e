# Finds Apache Arrow's C++ Arrow and Parquet libraries and exposes them as `visrl::arrow`.
#
# Debian 12 packages no Arrow, so, as LibTorch comes from the torch wheel, Arrow comes from the
# pyarrow wheel (pinned in scripts/arrow.version): its pyarrow/ folder holds libarrow.so.<N>,
# libparquet.so.<N> and include/{arrow,parquet}. First match wins:
#   1. the environment variable VISRL_ARROW_DIR=<that pyarrow folder>;
#   2. the wheel that ./scripts/setup unpacks into $VISRL_CACHE/arrow-<version>/pyarrow
#      (VISRL_CACHE defaults to ~/.cache/visrl).
# The wheel's libraries are built with the C++11 string ABI, as LibTorch's are, and need only
# glibc 2.28 and libstdc++ 3.4.22.

file(STRINGS "${PROJECT_SOURCE_DIR}/scripts/arrow.version" VISRL_ARROW_VERSION LIMIT_COUNT 1)
if(DEFINED ENV{VISRL_ARROW_DIR})
  set(_arrow_root "$ENV{VISRL_ARROW_DIR}")
else()
  set(_arrow_root "${VISRL_CACHE_DIR}/arrow-${VISRL_ARROW_VERSION}/pyarrow")
endif()
set(VISRL_ARROW_DIR "${_arrow_root}" CACHE PATH "The pyarrow folder with Arrow's C++ libraries and headers")

file(GLOB _arrow_lib "${VISRL_ARROW_DIR}/libarrow.so.[0-9]*")
file(GLOB _parquet_lib "${VISRL_ARROW_DIR}/libparquet.so.[0-9]*")
if(NOT _arrow_lib OR NOT _parquet_lib OR NOT EXISTS "${VISRL_ARROW_DIR}/include/parquet/arrow/reader.h")
  message(FATAL_ERROR "visrl: Arrow ${VISRL_ARROW_VERSION} not found in ${VISRL_ARROW_DIR}; run ./scripts/setup "
                      "(or point VISRL_ARROW_DIR at the pyarrow folder of a pyarrow wheel)")
endif()
list(GET _arrow_lib 0 _arrow_lib)
list(GET _parquet_lib 0 _parquet_lib)

add_library(visrl_arrow INTERFACE)
add_library(visrl::arrow ALIAS visrl_arrow)
target_include_directories(visrl_arrow SYSTEM INTERFACE "${VISRL_ARROW_DIR}/include")
# Full paths: the linker records the sonames, and CMake puts the folder in the build RPATH.
target_link_libraries(visrl_arrow INTERFACE "${_parquet_lib}" "${_arrow_lib}")
message(STATUS "visrl: Arrow ${VISRL_ARROW_VERSION} from ${VISRL_ARROW_DIR}")
