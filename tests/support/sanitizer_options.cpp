// The sanitizer options of a visrl_add_sanitizer_test program (tests/CMakeLists.txt), compiled
// in: ASan and UBSan read these functions at start-up, before the environment's ASAN_OPTIONS /
// UBSAN_OPTIONS (which still override them). Set through ctest's ENVIRONMENT property instead,
// only the first of the variables took effect: gtest_discover_tests writes a list value as
// separate arguments.
extern "C" const char* __asan_default_options() {
  return VISRL_ASAN_OPTIONS;
}
extern "C" const char* __ubsan_default_options() {
  return VISRL_UBSAN_OPTIONS;
}
