// The multi-process harness itself: launcher environment, exit codes, output, and the kill of
// every rank (and what it started) at the deadline.
#include <signal.h>

#include <chrono>

#include <gtest/gtest.h>

#include "tests/support/multiprocess.h"

namespace visrl::test {
namespace {

TEST(MultiProcess, ProgramRanksGetTheLauncherEnvironment) {
  auto result = run_program_ranks(
      2, "/bin/sh",
      {"-c", R"(echo "$RANK/$WORLD_SIZE $LOCAL_RANK $MASTER_ADDR $OMP_NUM_THREADS $EXTRA"; echo oops >&2; exit $RANK)"},
      std::chrono::seconds(30), {{"EXTRA", "x y"}});
  ASSERT_EQ(result.ranks.size(), 2u);
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.ok());  // rank 1 exits 1
  EXPECT_EQ(result.ranks[0].exit_code, 0);
  EXPECT_EQ(result.ranks[1].exit_code, 1);
  EXPECT_EQ(result.ranks[0].out, "0/2 0 127.0.0.1 1 x y\n");
  EXPECT_EQ(result.ranks[1].out, "1/2 1 127.0.0.1 1 x y\n");
  EXPECT_EQ(result.ranks[1].err, "oops\n");
  EXPECT_NE(result.summary().find("rank 1: exit 1"), std::string::npos) << result.summary();
}

TEST(MultiProcess, DeadlineKillsRanksAndTheirChildren) {
  const auto start = std::chrono::steady_clock::now();
  auto result = run_program_ranks(2, "/bin/sh", {"-c", "sleep 30 & wait"}, std::chrono::seconds(1));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(result.timed_out);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.ranks[0].signal, SIGKILL);
  EXPECT_LT(waited, 5.0);
}

TEST(MultiProcess, ScenarioRanksRunThisTest) {
  if (in_scenario("echo")) {
    EXPECT_STREQ(current_scenario(), "echo");
    return;
  }
  EXPECT_EQ(current_scenario(), nullptr);
  auto result = run_ranks(2, "echo", std::chrono::seconds(30));
  EXPECT_TRUE(result.ok()) << result.summary();
  // Each rank ran exactly this one test (--gtest_filter).
  EXPECT_NE(result.ranks[1].out.find("1 test from 1 test suite ran"), std::string::npos) << result.summary();
}

}  // namespace
}  // namespace visrl::test
