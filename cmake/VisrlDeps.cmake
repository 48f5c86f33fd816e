# Every third-party library visrl builds against, as imported targets. All of them come
# from Debian packages installed by ./scripts/setup; a missing one stops configuration
# with a hint instead of failing later in a compiler error.

set(_hint "run ./scripts/setup to install it")
macro(visrl_require_package name)
  find_package(${name} ${ARGN})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "visrl: ${name} not found; ${_hint}")
  endif()
endmacro()

visrl_require_package(yaml-cpp)
visrl_require_package(nlohmann_json 3.10)
visrl_require_package(fmt)
visrl_require_package(spdlog)
visrl_require_package(CLI11)
visrl_require_package(CURL)
visrl_require_package(LibXml2)
visrl_require_package(muparser)
visrl_require_package(Threads)
visrl_require_package(PNG)    # policy/image: read_image
visrl_require_package(JPEG)
visrl_require_package(ZLIB)   # core: file checksums of checkpoints

find_package(PkgConfig REQUIRED)
macro(visrl_require_pkg target)
  pkg_check_modules(${target} IMPORTED_TARGET ${ARGN})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "visrl: pkg-config module(s) ${ARGN} not found; ${_hint}")
  endif()
endmacro()
visrl_require_pkg(CAIRO cairo)
visrl_require_pkg(PANGOCAIRO pangocairo)
visrl_require_pkg(RSVG librsvg-2.0)
visrl_require_pkg(SECCOMP libseccomp)
visrl_require_pkg(PCRE2 libpcre2-8)
visrl_require_pkg(UTF8PROC libutf8proc)
visrl_require_pkg(CMARK_GFM libcmark-gfm)
visrl_require_pkg(POPPLER_CPP poppler-cpp)  # render/pdf_raster: ChartMimic's PDF references

# cmark-gfm's table extension ships without a pkg-config file.
find_library(CMARK_GFM_EXTENSIONS_LIBRARY cmark-gfm-extensions)
if(NOT CMARK_GFM_EXTENSIONS_LIBRARY)
  message(FATAL_ERROR "visrl: libcmark-gfm-extensions not found; ${_hint}")
endif()
add_library(visrl_cmark_gfm INTERFACE)
target_link_libraries(visrl_cmark_gfm INTERFACE ${CMARK_GFM_EXTENSIONS_LIBRARY} PkgConfig::CMARK_GFM)
add_library(visrl::cmark_gfm ALIAS visrl_cmark_gfm)

if(VISRL_BUILD_TESTS)
  visrl_require_package(GTest)
endif()
if(VISRL_BUILD_BENCH)
  visrl_require_package(benchmark)
endif()
