// The one translation unit that includes c10d (TCPStore, ProcessGroupGloo, ProcessGroupNCCL).
//
// Gloo headers: the PyPI LibTorch ships c10d's headers and the symbols (libtorch_cpu.so,
// libtorch_cuda.so) but not gloo's own headers, which ProcessGroupGloo.hpp includes. We compile
// against Debian's libgloo-dev (scripts/setup installs it). That gloo is older than the copy
// inside libtorch, which is harmless here because this file only uses ProcessGroupGloo through
// its out-of-line, exported members (constructor, createDevice*, collectives through the
// Backend vtable) and only holds gloo types behind shared_ptr: no inline gloo code of the
// Debian headers is ever called, so the two gloo versions never have to agree on a layout.
// Do not call gloo functions or inline ProcessGroupGloo members that touch gloo objects
// (e.g. setTimeout) from here.
//
// USE_C10D_GLOO / USE_C10D_NCCL / USE_DISTRIBUTED come from LibTorch's CMake target
// (TorchConfig.cmake), like every other TU; only this one includes the headers they unlock.
#include "trainer/distributed/c10d_group.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>
#include <unistd.h>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#if defined(VISRL_WITH_CUDA) && defined(USE_C10D_NCCL)
#define VISRL_HAS_NCCL 1
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "core/error.h"
#include "core/text.h"
#include "trainer/distributed/peer_addresses.h"

#ifndef USE_C10D_GLOO
#error "LibTorch without USE_C10D_GLOO: visrl needs a LibTorch built with distributed support (USE_DISTRIBUTED=1)"
#endif

namespace visrl::trainer::detail {

namespace {

// c10d errors carry a C++ backtrace and gloo's carry "[file.cc:123] " prefixes over several
// lines; the Communicator's message wants one readable line.
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(std::min<size_t>(text.size(), 600));
  for (char c : text) {
    if (out.size() >= 600) {
      out += "...";
      break;
    }
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return one_line(c10_error->what_without_backtrace());
  return one_line(e.what());
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0 + 0.5));
}

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case ReduceOp::max:
      return c10d::ReduceOp(c10d::ReduceOp::MAX);
    case ReduceOp::min:
      return c10d::ReduceOp(c10d::ReduceOp::MIN);
  }
  return c10d::ReduceOp(c10d::ReduceOp::SUM);
}

class C10dLink final : public ProcessGroupLink {
 public:
  C10dLink(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::Backend> group, at::Device device,
           std::chrono::milliseconds timeout, int rank, std::vector<std::vector<std::string>> addresses)
      : store_(std::move(store)),
        group_(std::move(group)),
        device_(device),
        timeout_(timeout),
        rank_(rank),
        addresses_(std::move(addresses)) {}

  ~C10dLink() override {
    // NCCL wants an explicit shutdown (aborts its communicators, stops the watchdog); for
    // Gloo it is a no-op and the destructor joins the worker threads.
    try {
      group_->shutdown();
    } catch (...) {
    }
    group_.reset();
    store_.reset();
  }

  at::Device device() const override { return device_; }

  void all_reduce(at::Tensor& tensor, ReduceOp op) override {
    run([&] {
      c10d::AllreduceOptions options;
      options.reduceOp = to_c10d(op);
      options.timeout = timeout_;
      std::vector<at::Tensor> tensors{tensor};
      return group_->allreduce(tensors, options);
    });
  }

  void broadcast(at::Tensor& tensor, int root) override {
    run([&] {
      c10d::BroadcastOptions options;
      options.rootRank = root;
      options.timeout = timeout_;
      std::vector<at::Tensor> tensors{tensor};
      return group_->broadcast(tensors, options);
    });
  }

  void all_gather(std::vector<at::Tensor>& outputs, at::Tensor& input) override {
    run([&] {
      c10d::AllgatherOptions options;
      options.timeout = timeout_;
      std::vector<std::vector<at::Tensor>> out{outputs};
      std::vector<at::Tensor> in{input};
      return group_->allgather(out, in, options);
    });
  }

  void barrier() override {
    run([&] {
      c10d::BarrierOptions options;
      options.timeout = timeout_;
      if (device_.is_cuda()) options.device_ids = {device_.index()};
      return group_->barrier(options);
    });
  }

  std::string lost_ranks(const std::string& error) const override {
    return trainer::lost_ranks(error, addresses_, rank_);
  }

 private:
  // Starts the collective and waits for it with the timeout (c10d also applies the timeout
  // inside the backend: gloo's socket reads, NCCL's blocking wait).
  template <typename Start>
  void run(Start&& start) {
    try {
      c10::intrusive_ptr<c10d::Work> work = start();
      if (!work->wait(timeout_)) throw std::runtime_error("timed out waiting for the collective");
    } catch (const std::exception& e) {
      throw std::runtime_error(message_of(e));
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> group_;
  at::Device device_;
  std::chrono::milliseconds timeout_;
  int rank_;
  std::vector<std::vector<std::string>> addresses_;  // [world] the addresses each rank's Gloo listens on
};

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// Which network interface Gloo binds to, and the addresses it is reachable at there.
// GLOO_SOCKET_IFNAME (comma-separated, as in PyTorch) wins. A loopback MASTER_ADDR means a single
// machine: bind to it, so that a hostname that does not resolve cannot break local runs.
// Otherwise the address this host routes MASTER_ADDR's traffic from: the interface the other
// ranks reach this one through, whatever the hostname resolves to (often 127.0.1.1 in
// /etc/hosts, or one address shared by several network namespaces). Without a route,
// createDefaultDevice resolves the hostname. (createDeviceForHostname(MASTER_ADDR) would be
// wrong on every node but the master's: it binds to that address, which is not local there.)
struct GlooDevices {
  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  std::vector<std::string> addresses;
};

GlooDevices gloo_devices(const GroupConfig& config) {
  GlooDevices out;
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) {
    for (const auto name : split(ifname, ',')) {
      if (!name.empty()) out.devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(std::string(name)));
    }
    out.addresses = interface_addresses(ifname);
  } else if (is_loopback(config.master_addr)) {
    out.devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(config.master_addr));
    out.addresses = resolved_addresses(config.master_addr);
  } else if (auto local = local_address_towards(config.master_addr); !local.empty()) {
    out.devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(local));
    out.addresses = {local};
  } else {
    out.devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) out.addresses = resolved_addresses(host);
  }
  return out;
}

// torchrun's agent serves the store and keeps it across restarts of the worker group: each
// group's keys go under their own prefix, so a restarted group never reads the addresses of
// the workers it replaces.
c10::intrusive_ptr<c10d::Store> connect_store(const GroupConfig& config) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(config.master_port);
  options.isServer = config.rank == 0 && !config.store_served_by_launcher;
  options.numWorkers = static_cast<size_t>(config.world_size);
  // Every rank counts itself in and rank 0 returns once all have; torchrun's store is no one's
  // to wait on (the process group's own rendezvous waits for the ranks).
  options.waitWorkers = !config.store_served_by_launcher;
  options.timeout = to_ms(config.timeout_s);
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
    if (!config.store_served_by_launcher) return store;
    return c10::make_intrusive<c10d::PrefixStore>(fmt::format("visrl/attempt_{}", config.restart_count),
                                                  std::move(store));
  } catch (const std::exception& e) {
    if (config.store_served_by_launcher)
      fail(ErrorKind::runtime,
           "rank {}/{}: cannot reach torchrun's rendezvous store at {}:{} within {:g} s (MASTER_ADDR/MASTER_PORT): {}",
           config.rank, config.world_size, config.master_addr, config.master_port, config.timeout_s, message_of(e));
    if (config.rank == 0)
      fail(ErrorKind::runtime,
           "rank 0/{}: the rendezvous store at {}:{} failed within {:g} s (MASTER_ADDR/MASTER_PORT; is the port "
           "free, did all {} ranks start?): {}",
           config.world_size, config.master_addr, config.master_port, config.timeout_s, config.world_size,
           message_of(e));
    fail(ErrorKind::runtime,
         "rank {}/{}: cannot reach the rendezvous store at {}:{} within {:g} s (MASTER_ADDR/MASTER_PORT): {}",
         config.rank, config.world_size, config.master_addr, config.master_port, config.timeout_s, message_of(e));
  }
}

c10::intrusive_ptr<c10d::Backend> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, const GroupConfig& config,
                                            std::vector<std::string>& addresses) {
  auto options = c10d::ProcessGroupGloo::Options::create(to_ms(config.timeout_s));
  try {
    auto devices = gloo_devices(config);
    options->devices = std::move(devices.devices);
    addresses = std::move(devices.addresses);
  } catch (const std::exception& e) {
    fail(ErrorKind::runtime,
         "rank {}/{}: gloo cannot open a network device (MASTER_ADDR={}, GLOO_SOCKET_IFNAME={}): {}", config.rank,
         config.world_size, config.master_addr,
         std::getenv("GLOO_SOCKET_IFNAME") ? std::getenv("GLOO_SOCKET_IFNAME") : "unset", message_of(e));
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, config.rank, config.world_size, options);
}

// Every rank's addresses ([world] lists), through the store: rank r publishes its own under
// visrl/addresses/<r> and reads the others' (each get waits, within the timeout, for the key).
std::vector<std::vector<std::string>> exchange_addresses(c10d::Store& store, const GroupConfig& config,
                                                         const std::vector<std::string>& mine) {
  std::string joined;
  for (const auto& a : mine) joined += (joined.empty() ? "" : " ") + a;
  store.set(fmt::format("visrl/addresses/{}", config.rank), std::vector<uint8_t>(joined.begin(), joined.end()));
  std::vector<std::vector<std::string>> all(static_cast<size_t>(config.world_size));
  for (int r = 0; r < config.world_size; ++r) {
    const auto bytes = store.get(fmt::format("visrl/addresses/{}", r));
    for (const auto address : split({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, ' ')) {
      if (!address.empty()) all[static_cast<size_t>(r)].emplace_back(address);
    }
  }
  return all;
}

#ifdef VISRL_HAS_NCCL
c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store, const GroupConfig& config) {
  // Without blocking wait, a timed-out NCCL collective is reported by the watchdog thread,
  // which tears the process down with its own message; with it, Work::wait throws and the
  // Communicator can name the rank and the collective. A user's explicit setting wins.
  setenv("TORCH_NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = to_ms(config.timeout_s);
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, config.rank, config.world_size, options);
}
#endif

}  // namespace

bool nccl_compiled() {
#ifdef VISRL_HAS_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<ProcessGroupLink> connect_process_group(const GroupConfig& config) {
  at::Device device = at::kCPU;  // gloo: collectives on CPU tensors (Communicator stages CUDA ones)
#ifdef VISRL_HAS_NCCL
  if (config.backend == "nccl") {
    int count = c10::cuda::device_count();
    if (count == 0)
      fail(ErrorKind::runtime, "rank {}/{}: distributed backend nccl, but no CUDA device is visible", config.rank,
           config.world_size);
    int index = config.device.has_index() ? config.device.index() : config.local_rank % count;
    device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));
  }
#endif
  auto store = connect_store(config);
  c10::intrusive_ptr<c10d::Backend> group;
  std::vector<std::vector<std::string>> addresses;  // [world]
  try {
    std::vector<std::string> mine;
#ifdef VISRL_HAS_NCCL
    if (config.backend == "nccl") group = make_nccl(store, config);
#endif
    if (!group) group = make_gloo(store, config, mine);
    addresses = exchange_addresses(*store, config, mine);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ErrorKind::runtime,
         "rank {}/{}: could not connect the {} process group within {:g} s: {}; another rank probably died or is stuck",
         config.rank, config.world_size, config.backend, config.timeout_s, message_of(e));
  }
  return std::make_unique<C10dLink>(std::move(store), std::move(group), device, to_ms(config.timeout_s), config.rank,
                                    std::move(addresses));
}

}  // namespace visrl::trainer::detail
