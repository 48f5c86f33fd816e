// Where the ranks of a job are on the network, and which ranks a transport error points at.
// Gloo names the peer of a failed connection as "[address]:port"; every rank publishes the
// addresses its Gloo device listens on when the group connects, so that a survivor can say
// which ranks it lost ("rank(s) 2, 3 at 10.0.0.2") instead of only "a peer".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace visrl::trainer {

// The numeric IP address this host uses to reach `host` (a name or address): the kernel's route,
// found by connecting a UDP socket (which sends nothing). "" when `host` does not resolve or no
// route leads there.
std::string local_address_towards(const std::string& host);

// The numeric IPv4/IPv6 addresses of the interfaces named in a comma-separated list, as
// GLOO_SOCKET_IFNAME holds them.
std::vector<std::string> interface_addresses(std::string_view ifnames);

// The numeric addresses `host` resolves to ("localhost" -> 127.0.0.1, ::1).
std::vector<std::string> resolved_addresses(const std::string& host);

// The ranks behind a failed collective: every "[address]" in `error` matched against the
// addresses rank r published (addresses[r]), `self` left out. "" when nothing matches; else
// e.g. "lost rank(s) 2, 3 (at 10.0.0.2)".
std::string lost_ranks(std::string_view error, const std::vector<std::vector<std::string>>& addresses, int self);

}  // namespace visrl::trainer
