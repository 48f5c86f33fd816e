#include "trainer/distributed/peer_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/text.h"

namespace visrl::trainer {
namespace {

std::string numeric(const sockaddr* addr, socklen_t len) {
  char host[NI_MAXHOST];
  if (getnameinfo(addr, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return "";
  std::string out(host);
  if (auto percent = out.find('%'); percent != std::string::npos) out.resize(percent);  // fe80::1%eth0
  return out;
}

socklen_t length_of(const sockaddr* addr) {
  return addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace

std::string local_address_towards(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), "9", &hints, &found) != 0) return "";
  std::string out;
  for (addrinfo* a = found; a && out.empty(); a = a->ai_next) {
    const int fd = ::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0)
      out = numeric(reinterpret_cast<sockaddr*>(&local), len);
    ::close(fd);
  }
  freeaddrinfo(found);
  return out;
}

std::vector<std::string> interface_addresses(std::string_view ifnames) {
  std::set<std::string> names;
  for (const auto name : split(ifnames, ',')) {
    if (!name.empty()) names.emplace(name);
  }
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !names.count(i->ifa_name)) continue;
    if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) continue;
    auto text = numeric(i->ifa_addr, length_of(i->ifa_addr));
    if (!text.empty()) out.push_back(std::move(text));
  }
  freeifaddrs(list);
  return out;
}

std::vector<std::string> resolved_addresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::vector<std::string> out;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (addrinfo* a = found; a; a = a->ai_next) {
    auto text = numeric(a->ai_addr, a->ai_addrlen);
    if (!text.empty() && std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
  }
  freeaddrinfo(found);
  return out;
}

std::string lost_ranks(std::string_view error, const std::vector<std::vector<std::string>>& addresses, int self) {
  std::vector<std::string> peers;  // the bracketed addresses of the message, in order, once each
  for (size_t open = error.find('['); open != std::string_view::npos; open = error.find('[', open + 1)) {
    const size_t close = error.find(']', open);
    if (close == std::string_view::npos) break;
    std::string peer(error.substr(open + 1, close - open - 1));
    // Gloo's "[file.cc:123]" source prefixes are not addresses.
    if (peer.find(".cc:") != std::string::npos || peer.find(".h:") != std::string::npos) continue;
    if (std::find(peers.begin(), peers.end(), peer) == peers.end()) peers.push_back(std::move(peer));
  }
  std::vector<std::string> parts;
  for (const auto& peer : peers) {
    std::vector<int> ranks;
    for (size_t r = 0; r < addresses.size(); ++r) {
      if (static_cast<int>(r) == self) continue;
      if (std::find(addresses[r].begin(), addresses[r].end(), peer) != addresses[r].end())
        ranks.push_back(static_cast<int>(r));
    }
    if (!ranks.empty()) parts.push_back(fmt::format("{} (at {})", fmt::join(ranks, ", "), peer));
  }
  if (parts.empty()) return "";
  return fmt::format("lost rank(s) {}", fmt::join(parts, "; "));
}

}  // namespace visrl::trainer
