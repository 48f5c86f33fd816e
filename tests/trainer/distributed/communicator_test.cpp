// Communicator over real Gloo process groups: two processes on loopback exchange tensors, and
// a dead or stuck peer becomes a clear error within the timeout.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/multiprocess.h"
#include "tests/test_util.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/peer_addresses.h"

namespace visrl::trainer {
namespace {

using std::chrono::seconds;
using testing::rank_communicator;
using testing::single_communicator;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void touch(const std::filesystem::path& path) {
  std::ofstream(path) << "";
}

void wait_for_file(const std::filesystem::path& path, double max_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(max_seconds);
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

TEST(Communicator, CollectivesOnTwoRanks) {
  if (visrl::test::in_scenario("collectives")) {
    auto comm = rank_communicator();
    const int r = comm->rank();
    ASSERT_EQ(comm->world_size(), 2);
    EXPECT_EQ(comm->backend_name(), "gloo");
    EXPECT_EQ(comm->is_main(), r == 0);

    // all_reduce sum over two dtypes and a non-contiguous tensor, coalesced per dtype.
    std::vector<at::Tensor> ts = {at::full({3}, r + 1.0), at::full({2, 2}, int64_t{10} * (r + 1), at::kLong),
                                  at::arange(6, at::kFloat).reshape({2, 3}).t() * (r + 1)};
    comm->all_reduce(ts, ReduceOp::sum);
    EXPECT_TRUE(at::equal(ts[0], at::full({3}, 3.0)));
    EXPECT_TRUE(at::equal(ts[1], at::full({2, 2}, int64_t{30}, at::kLong)));
    EXPECT_TRUE(at::equal(ts[2], at::arange(6, at::kFloat).reshape({2, 3}).t() * 3));

    std::vector<at::Tensor> bf16 = {at::full({5}, r + 1.5, at::kBFloat16)};  // bf16 grads
    comm->all_reduce(bf16, ReduceOp::sum);
    EXPECT_TRUE(at::equal(bf16[0], at::full({5}, 4.0, at::kBFloat16)));

    std::vector<at::Tensor> mx = {at::tensor({r == 0 ? 5.0 : 1.0, r == 0 ? -2.0 : 7.0})};
    comm->all_reduce(mx, ReduceOp::max);
    EXPECT_TRUE(at::equal(mx[0], at::tensor({5.0, 7.0})));
    std::vector<at::Tensor> mn = {at::tensor({r == 0 ? 5.0 : 1.0, r == 0 ? -2.0 : 7.0})};
    comm->all_reduce(mn, ReduceOp::min);
    EXPECT_TRUE(at::equal(mn[0], at::tensor({1.0, -2.0})));

    // broadcast from rank 1: both tensors become rank 1's.
    std::vector<at::Tensor> b = {at::full({4}, r * 100.0f), at::full({1}, r == 1 ? 42 : 0, at::kInt)};
    comm->broadcast(b, 1);
    EXPECT_TRUE(at::equal(b[0], at::full({4}, 100.0f)));
    EXPECT_EQ(b[1].item<int>(), 42);

    // all_gather [3] -> [2, 3], row r from rank r.
    at::Tensor g = comm->all_gather(at::arange(3, at::kFloat) + 10 * r);
    EXPECT_TRUE(at::equal(g, at::stack({at::arange(3, at::kFloat), at::arange(3, at::kFloat) + 10})));

    EXPECT_EQ(comm->all_reduce_sum({1.5, static_cast<double>(r)}), (std::vector<double>{3.0, 1.0}));
    EXPECT_EQ(comm->all_reduce_max(r == 0 ? 2.5 : -1.0), 2.5);
    comm->barrier();
    return;
  }
  auto result = visrl::test::run_ranks(2, "collectives", seconds(60));
  EXPECT_TRUE(result.ok()) << result.summary();
}

TEST(Communicator, StringsOfDifferentLengthsAndBytes) {
  if (visrl::test::in_scenario("strings")) {
    auto comm = rank_communicator();
    const std::string with_nul("a\0b\xff", 4);
    const std::string mine = comm->rank() == 0 ? std::string("rollout line one\nand two") : with_nul;
    std::vector<std::string> all = comm->gather_strings(mine);
    EXPECT_EQ(all, (std::vector<std::string>{"rollout line one\nand two", with_nul}));
    // Empty strings on every rank.
    EXPECT_EQ(comm->gather_strings(""), (std::vector<std::string>{"", ""}));
    EXPECT_EQ(comm->broadcast_string(comm->rank() == 1 ? "from one" : "ignored", 1), "from one");
    EXPECT_EQ(comm->broadcast_string(comm->rank() == 0 ? "" : "ignored", 0), "");
    return;
  }
  auto result = visrl::test::run_ranks(2, "strings", seconds(60));
  EXPECT_TRUE(result.ok()) << result.summary();
}

TEST(Communicator, WorldOfOneNeedsNoStore) {
  auto comm = single_communicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->world_size(), 1);
  EXPECT_TRUE(comm->is_main());
  EXPECT_EQ(comm->backend_name(), "single");
  std::vector<at::Tensor> ts = {at::ones({2})};
  comm->all_reduce(ts, ReduceOp::sum);
  comm->broadcast(ts, 0);
  EXPECT_TRUE(at::equal(ts[0], at::ones({2})));
  at::Tensor g = comm->all_gather(at::arange(3));
  EXPECT_EQ(g.sizes(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(comm->gather_strings("x"), (std::vector<std::string>{"x"}));
  EXPECT_EQ(comm->broadcast_string("y", 0), "y");
  EXPECT_EQ(comm->all_reduce_sum({1.0, 2.0}), (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(comm->all_reduce_max(-3.0), -3.0);
  comm->barrier();
  EXPECT_NE(visrl::test::error_of([&] { comm->broadcast(ts, 1); }).find("root 1"), std::string::npos);
}

TEST(Communicator, BackendAndTimeoutAreValidated) {
  auto config_error = [](const std::string& backend, at::Device device, double timeout) {
    try {
      Communicator::create(LaunchEnv{}, backend, timeout, device);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(config_error("nccl", at::kCPU, 30).find("nccl needs a CUDA device"), std::string::npos);
  EXPECT_NE(config_error("mpi", at::kCPU, 30).find("expected auto, gloo or nccl"), std::string::npos);
  EXPECT_NE(config_error("gloo", at::kCPU, 0).find("timeout"), std::string::npos);
}

TEST(Communicator, UnreachableStoreIsAClearErrorAfterTheTimeout) {
  LaunchEnv env;
  env.rank = 1;
  env.world_size = 2;
  env.master_addr = "127.0.0.1";
  env.master_port = visrl::test::free_tcp_port();
  const auto start = std::chrono::steady_clock::now();
  const std::string message = visrl::test::error_of([&] { Communicator::create(env, "gloo", 1.0, at::kCPU); });
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(message.find(
                fmt::format("rank 1/2: cannot reach the rendezvous store at 127.0.0.1:{} within 1 s", env.master_port)),
            std::string::npos)
      << message;
  EXPECT_LT(waited, 10.0);

  env.rank = 0;  // the server, waiting for a rank 1 that never comes
  const std::string server = visrl::test::error_of([&] { Communicator::create(env, "gloo", 1.0, at::kCPU); });
  EXPECT_NE(server.find("rank 0/2: the rendezvous store at 127.0.0.1"), std::string::npos) << server;
}

// Rank 1 dies (SIGKILL) between two all_reduces; rank 0 must fail the second one with a message
// naming itself and the collective, well within its 5 s timeout plus start-up.
TEST(Communicator, KilledPeerFailsTheCollectiveWithAClearMessage) {
  if (visrl::test::in_scenario("killed_peer")) {
    const std::filesystem::path marker = std::filesystem::path(env_or_empty("VISRL_TEST_DIR")) / "rank0-ready";
    auto comm = rank_communicator(5);
    std::vector<at::Tensor> t = {at::ones({8})};
    comm->all_reduce(t, ReduceOp::sum);  // both ranks are fully connected
    if (comm->rank() == 1) {
      wait_for_file(marker, 20);  // rank 0 has finished the first all_reduce too
      kill(getpid(), SIGKILL);
    }
    touch(marker);
    try {
      comm->all_reduce(t, ReduceOp::sum);
      comm->all_reduce(t, ReduceOp::sum);
    } catch (const Error& e) {
      fmt::print(stderr, "{}\n", e.what());
      const std::string after = visrl::test::error_of([&] { comm->barrier(); });
      fmt::print(stderr, "then: {}\n", after);
      comm.reset();  // the destructor must not hang
      std::fflush(stderr);
      std::exit(3);
    }
    ADD_FAILURE() << "all_reduce with a dead peer succeeded";
    return;
  }
  visrl::test::TempDir dir;
  auto result = visrl::test::run_ranks(2, "killed_peer", seconds(60), {{"VISRL_TEST_DIR", dir.path().string()}});
  ASSERT_EQ(result.ranks.size(), 2u);
  EXPECT_FALSE(result.timed_out) << result.summary();
  EXPECT_EQ(result.ranks[1].signal, SIGKILL) << result.summary();
  EXPECT_EQ(result.ranks[0].exit_code, 3) << result.summary();
  const std::string& err = result.ranks[0].err;
  EXPECT_NE(err.find("rank 0/2: all_reduce failed after"), std::string::npos) << err;
  // Gloo names the peer's address; the ranks' published addresses name the rank.
  EXPECT_NE(err.find("lost rank(s) 1 (at 127.0.0.1): it died, is stuck or cannot be reached"), std::string::npos)
      << err;
  EXPECT_NE(err.find("then: rank 0/2: barrier refused"), std::string::npos) << err;
  // Rank 0 ends long before its 5 s timeout would have expired twice.
  EXPECT_LT(result.ranks[0].seconds - result.ranks[1].seconds, 10.0) << result.summary();
}

// The ranks behind a transport error, from the addresses they published.
TEST(PeerAddresses, AnErrorNamesTheRanksAtThePeersAddress) {
  const std::vector<std::vector<std::string>> at = {{"10.0.0.1"}, {"10.0.0.1"}, {"10.0.0.2", "fd00::2"}, {"10.0.0.2"}};
  const std::string gloo =
      "[../third_party/gloo/gloo/transport/tcp/pair.cc:561] Connection closed by peer [10.0.0.2]:14741";
  EXPECT_EQ(lost_ranks(gloo, at, 0), "lost rank(s) 2, 3 (at 10.0.0.2)");
  EXPECT_EQ(lost_ranks("Read error [10.0.0.1]:3 and [fd00::2]:9", at, 1),
            "lost rank(s) 0 (at 10.0.0.1); 2 (at fd00::2)");
  EXPECT_EQ(lost_ranks("Timed out waiting 5000ms for recv operation to complete", at, 0), "");
  EXPECT_EQ(lost_ranks("closed by peer [10.9.9.9]:1", at, 0), "");
  EXPECT_EQ(lost_ranks("", {}, 0), "");
  // This host's own addresses: loopback resolves, and the route to a loopback address is one.
  const auto local = resolved_addresses("127.0.0.1");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ(local[0], "127.0.0.1");
  EXPECT_EQ(local_address_towards("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(local_address_towards("no-such-host.invalid"), "");
  const auto lo = interface_addresses("lo,,nonexistent0");
  EXPECT_NE(std::find(lo.begin(), lo.end(), "127.0.0.1"), lo.end());
}

// Rank 1 stays alive but never joins the second all_reduce: rank 0 gives up after its 2 s
// timeout.
TEST(Communicator, StuckPeerTimesOut) {
  if (visrl::test::in_scenario("stuck_peer")) {
    const std::filesystem::path done = std::filesystem::path(env_or_empty("VISRL_TEST_DIR")) / "rank0-done";
    auto comm = rank_communicator(2);
    std::vector<at::Tensor> t = {at::ones({8})};
    comm->all_reduce(t, ReduceOp::sum);
    if (comm->rank() == 1) {
      wait_for_file(done, 30);  // stuck until rank 0 has given up
      std::_Exit(0);
    }
    const std::string message = visrl::test::error_of([&] { comm->all_reduce(t, ReduceOp::sum); });
    fmt::print(stderr, "{}\n", message);
    touch(done);
    EXPECT_NE(message.find("rank 0/2: all_reduce failed after"), std::string::npos) << message;
    EXPECT_NE(message.find("(timeout 2 s)"), std::string::npos) << message;
    return;
  }
  visrl::test::TempDir dir;
  auto result = visrl::test::run_ranks(2, "stuck_peer", seconds(60), {{"VISRL_TEST_DIR", dir.path().string()}});
  EXPECT_TRUE(result.ok()) << result.summary();
}

}  // namespace
}  // namespace visrl::trainer
