// Socket addresses and CIDR ranges as they appear in the config.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rtmpgate::proxy {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  std::string toString() const;  // "1.2.3.4:5" or "[::1]:5"
};

// "host:port" or "[v6]:port"; host must be a numeric address (a gateway must
// not block on DNS at reload time). Error text on failure.
std::optional<SocketAddress> parseSocketAddress(std::string_view text, std::string* error);
SocketAddress fromSockaddr(const sockaddr* sa);

// A 16-byte key for any client IP: IPv4 is stored as v4-mapped IPv6, so one
// CIDR list and one per-IP table serve both families.
using IpKey = std::array<uint8_t, 16>;
IpKey ipKeyOf(const sockaddr* sa);
std::string ipKeyToString(const IpKey& ip);

struct Cidr {
  IpKey prefix{};
  uint8_t bits = 0;  // over the 128-bit key (IPv4 /n is stored as /96+n)
  std::string text;

  bool contains(const IpKey& ip) const;
};

// "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128).
std::optional<Cidr> parseCidr(std::string_view text, std::string* error);

}  // namespace rtmpgate::proxy
