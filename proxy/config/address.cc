#include "proxy/config/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace rtmpgate::proxy {

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf,
              sizeof(buf));
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "?";
}

SocketAddress fromSockaddr(const sockaddr* sa) {
  SocketAddress a;
  a.length = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&a.storage, sa, a.length);
  return a;
}

std::optional<SocketAddress> parseSocketAddress(std::string_view text, std::string* error) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "expected [IPv6]:port";
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "expected host:port";
      return std::nullopt;
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      *error = "an IPv6 address needs brackets: [" + host + "]:port";
      return std::nullopt;
    }
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    *error = "bad port '" + std::string(port_text) + "'";
    return std::nullopt;
  }
  SocketAddress a;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    a.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    a.length = sizeof(sockaddr_in6);
  } else {
    *error = "'" + host + "' is not a numeric IPv4 or IPv6 address";
    return std::nullopt;
  }
  return a;
}

IpKey ipKeyOf(const sockaddr* sa) {
  IpKey k{};
  if (sa->sa_family == AF_INET6) {
    std::memcpy(k.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  } else if (sa->sa_family == AF_INET) {
    k[10] = 0xff;
    k[11] = 0xff;
    std::memcpy(k.data() + 12, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  }
  return k;
}

static bool isV4Mapped(const IpKey& k) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(k.data(), kPrefix, 12) == 0;
}

std::string ipKeyToString(const IpKey& ip) {
  char buf[INET6_ADDRSTRLEN];
  if (isV4Mapped(ip)) {
    inet_ntop(AF_INET, ip.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
  }
  return buf;
}

bool Cidr::contains(const IpKey& ip) const {
  size_t full = bits / 8;
  if (std::memcmp(ip.data(), prefix.data(), full) != 0) return false;
  size_t rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip[full] & mask) == (prefix[full] & mask);
}

std::optional<Cidr> parseCidr(std::string_view text, std::string* error) {
  Cidr c;
  c.text = std::string(text);
  std::string host(text.substr(0, text.find('/')));
  bool v4 = false;
  uint8_t raw[16];
  if (inet_pton(AF_INET, host.c_str(), raw) == 1) {
    v4 = true;
    c.prefix[10] = c.prefix[11] = 0xff;
    std::memcpy(c.prefix.data() + 12, raw, 4);
  } else if (inet_pton(AF_INET6, host.c_str(), raw) == 1) {
    std::memcpy(c.prefix.data(), raw, 16);
  } else {
    *error = "'" + host + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  unsigned max = v4 ? 32 : 128;
  unsigned len = max;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), len);
    if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() || len > max) {
      *error = "bad prefix length '/" + std::string(bits) + "' (0.." + std::to_string(max) + ")";
      return std::nullopt;
    }
  }
  c.bits = static_cast<uint8_t>(v4 ? 96 + len : len);
  return c;
}

}  // namespace rtmpgate::proxy
