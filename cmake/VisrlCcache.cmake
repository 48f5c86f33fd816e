# Compiler cache: ccache as the C++ compiler launcher when it is installed (scripts/setup
# installs it).
#
# scripts/test and scripts/quickstart point it at ~/.cache/visrl/ccache (CCACHE_DIR; its
# settings are the ccache.conf that scripts/setup writes there) and hash paths relative to the
# source tree (CCACHE_BASEDIR), so that a fresh clone reuses the objects of earlier builds, also
# those of a clone in another directory, except where the compile line or the preprocessed
# source holds an absolute path of the tree: sources that expand VISRL_SOURCE_DIR (most tests)
# or VISRL_RENDER_WORKER_BUILD_PATH are shared only between clones in the same directory.
# A build started by hand uses your own ccache configuration unless you export the same two
# variables. Being set at every configure, the launcher also reaches a build tree configured
# before ccache was installed. -DVISRL_CCACHE=OFF, or a launcher of your own
# (-DCMAKE_CXX_COMPILER_LAUNCHER=...), replaces it; CCACHE_DISABLE=1 bypasses the cache for
# one build.
option(VISRL_CCACHE "Compile through ccache when it is installed" ON)

if(VISRL_CCACHE AND NOT DEFINED CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(VISRL_CCACHE_PROGRAM ccache)
  mark_as_advanced(VISRL_CCACHE_PROGRAM)
  if(VISRL_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${VISRL_CCACHE_PROGRAM}")
    message(STATUS "Compiler launcher: ${VISRL_CCACHE_PROGRAM}")
  endif()
endif()
