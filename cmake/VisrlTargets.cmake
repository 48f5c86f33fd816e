# Helpers that give every visrl target the same language level, warnings and output dir.

function(visrl_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter)
  if(VISRL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# visrl_add_module(<folder> SOURCES ... DEPS ...): the library that owns one top-level folder,
# exported as visrl::<folder>. A folder whose sources have not landed yet is an interface
# library, so that dependants can already link against it.
function(visrl_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  set(target visrl_${name})
  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    visrl_target_defaults(${target})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(visrl::${name} ALIAS ${target})
endfunction()

# visrl_add_program(<name> SOURCES ... DEPS ...): a program in build/bin/.
function(visrl_add_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  visrl_target_defaults(${name})
endfunction()

# visrl_embed_task_texts(<dir> <template.in> <output.cpp> <VAR_PREFIX>): compiles the per-task
# texts <dir>/{chart,table,svg}.txt into a source file: <template.in> refers to them as
# @<VAR_PREFIX>_CHART@ etc. (trailing newlines dropped). Editing a text re-runs CMake.
function(visrl_embed_task_texts dir template output prefix)
  foreach(task chart table svg)
    set(_file ${dir}/${task}.txt)
    file(READ ${_file} _text)
    string(REGEX REPLACE "[\r\n]+$" "" _text "${_text}")
    string(TOUPPER ${task} _upper)
    set(${prefix}_${_upper} "${_text}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_file})
  endforeach()
  configure_file(${template} ${output} @ONLY)
endfunction()
