// SidecarChannel (trainer/report/sidecar_channel.h), the W&B sidecar's pipe, with shell
// commands standing in for the sidecar: lines arrive in order after the hello; a process that
// never reads makes send() drop (counted), never wait; a killed process is started again and
// greeted as a restart; one that keeps dying is given up on after max_restarts.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/render/process_util.h"
#include "tests/test_util.h"
#include "trainer/report/sidecar_channel.h"

namespace visrl::trainer {
namespace {

using visrl::test::wait_until;

SidecarOptions shell_sidecar(const std::filesystem::path& log, const std::string& script) {
  return SidecarOptions{.name = "test sidecar",
                        .argv = {"sh", "-c", script},
                        .log_path = log,
                        .queue_bytes = 1 << 20,
                        .max_restarts = 2,
                        .finish_wait = std::chrono::seconds(30)};
}

std::string hello(bool restarted) {
  return restarted ? "hello again" : "hello";
}

TEST(SidecarChannel, LinesArriveInOrderAfterTheHelloAndFinishWaitsForTheEnd) {
  test::TempDir dir;
  const auto out = dir / "received";
  SidecarChannel channel(shell_sidecar(dir / "log", "exec cat <&3 > " + out.string()), hello);
  std::string expected = "hello\n";
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(channel.send("line " + std::to_string(i)));
    expected += "line " + std::to_string(i) + "\n";
  }
  channel.finish();  // closes the pipe: cat ends
  EXPECT_EQ(test::read_file(out), expected);
  const auto s = channel.stats();
  EXPECT_EQ(s.offered, 1000);
  EXPECT_EQ(s.written, 1000);
  EXPECT_EQ(s.dropped, 0);
  EXPECT_EQ(s.restarts, 0);
}

TEST(SidecarChannel, TheProcessHoldsNoOtherDescriptorOfTheTrainer) {
  test::TempDir dir;
  // Not close-on-exec, like a library's socket; above the descriptors a child is given.
  const int low = ::open("/dev/null", O_RDONLY);
  const int open_fd = fcntl(low, F_DUPFD, 20);
  ::close(low);
  ASSERT_GE(open_fd, 20);
  const auto out = dir / "fds";
  SidecarChannel channel(shell_sidecar(dir / "log", "ls /proc/self/fd > " + out.string() + "; exec cat <&3 >/dev/null"),
                         hello);
  channel.finish();
  ::close(open_fd);
  // ls's own: 0, 1, 2, the pipe on 3 and the directory it reads.
  std::set<std::string> fds;
  std::istringstream in(test::read_file(out));
  for (std::string fd; in >> fd;) fds.insert(fd);
  EXPECT_EQ(fds.count(std::to_string(open_fd)), 0u) << test::read_file(out);
  EXPECT_EQ(fds.count("3"), 1u);
}

TEST(SidecarChannel, AProcessThatNeverReadsMakesSendDropNotWait) {
  test::TempDir dir;
  auto options = shell_sidecar(dir / "log", "exec sleep 600");  // holds the pipe, reads nothing
  options.finish_wait = std::chrono::milliseconds(100);
  SidecarChannel channel(options, hello);
  const pid_t pid = channel.pid();
  ASSERT_GT(pid, 0);
  const std::string line(4096, 'x');
  int64_t accepted = 0;
  for (int i = 0; i < 2000; ++i) accepted += channel.send(line);  // 8 MiB against a 1 MiB queue
  const auto s = channel.stats();
  EXPECT_GT(s.dropped, 0);
  EXPECT_EQ(s.dropped + accepted, 2000);
  EXPECT_LT(accepted, 2000 - 1500);  // about 1 MiB queued and 64 KiB in the pipe
  channel.finish();                  // leaves the busy process running after finish_wait
  EXPECT_EQ(kill(pid, 0), 0);
  kill(pid, SIGKILL);
}

TEST(SidecarChannel, AKilledProcessIsStartedAgainAndGreetedAsARestart) {
  test::TempDir dir;
  const auto out = dir / "received";
  SidecarChannel channel(shell_sidecar(dir / "log", "exec cat <&3 >> " + out.string()), hello);
  ASSERT_TRUE(channel.send("before"));
  ASSERT_TRUE(wait_until([&] { return test::read_file(out) == "hello\nbefore\n"; }));
  const pid_t first = channel.pid();
  ASSERT_EQ(kill(first, SIGKILL), 0);
  // Lines sent after the death reach the new process once the writer notices (EPIPE).
  int sent = 0;
  ASSERT_TRUE(wait_until([&] {
    channel.send("after " + std::to_string(sent++));
    return channel.stats().restarts == 1 && test::read_file(out).find("hello again\n") != std::string::npos;
  }));
  EXPECT_NE(channel.pid(), first);
  channel.send("last");
  channel.finish();
  const std::string text = test::read_file(out);
  EXPECT_EQ(text.rfind("hello\nbefore\nhello again\nafter ", 0), 0u) << text;
  EXPECT_NE(text.find("\nlast\n"), std::string::npos) << text;
  EXPECT_FALSE(channel.stats().given_up);
}

TEST(SidecarChannel, AProcessThatKeepsDyingIsGivenUpOnAndTrainingIsNotHeld) {
  test::TempDir dir;
  const auto log = dir / "log";
  SidecarChannel channel(shell_sidecar(log, "echo 'ModuleNotFoundError: No module named wandb' >&2; exit 1"), hello);
  ASSERT_TRUE(wait_until([&] {
    channel.send("a line");
    return channel.stats().given_up;
  }));
  EXPECT_EQ(channel.stats().restarts, 2);
  EXPECT_FALSE(channel.send("after giving up"));
  EXPECT_EQ(channel.pid(), -1);
  channel.finish();
  // Each of the three processes left its last words in the log.
  const std::string text = test::read_file(log);
  size_t count = 0;
  for (size_t at = text.find("No module named wandb"); at != std::string::npos;
       at = text.find("No module named wandb", at + 1))
    ++count;
  EXPECT_EQ(count, 3u);
}

TEST(SidecarChannel, AProgramThatCannotBeStartedIsGivenUpOn) {
  test::TempDir dir;
  auto options = shell_sidecar(dir / "log", "");
  options.argv = {(dir / "no-such-python").string()};
  SidecarChannel channel(options, hello);
  EXPECT_TRUE(channel.stats().given_up);
  EXPECT_FALSE(channel.send("x"));
}

}  // namespace
}  // namespace visrl::trainer
