// Socket addresses and CIDR ranges as the config writes them.

#include "proxy/config/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace rtmpgate::proxy {
namespace {

// The key the data path computes for a client at `ip` (v4 or v6 text).
IpKey key(const std::string& ip) {
  sockaddr_storage ss{};
  auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
  } else {
    ADD_FAILURE() << "bad test address " << ip;
  }
  return ipKeyOf(reinterpret_cast<const sockaddr*>(&ss));
}

Cidr cidr(const std::string& text) {
  std::string why;
  auto c = parseCidr(text, &why);
  EXPECT_TRUE(c.has_value()) << text << ": " << why;
  return c.value_or(Cidr{});
}

// ---------------------------------------------------------------------------
// parseSocketAddress

TEST(ParseSocketAddressTest, Ipv4HostAndPort) {
  std::string why;
  auto a = parseSocketAddress("192.0.2.10:1935", &why);
  ASSERT_TRUE(a.has_value()) << why;
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 1935);
  EXPECT_EQ(a->length, sizeof(sockaddr_in));
  EXPECT_EQ(a->toString(), "192.0.2.10:1935");
  auto* in4 = reinterpret_cast<const sockaddr_in*>(a->get());
  EXPECT_EQ(ntohl(in4->sin_addr.s_addr), 0xC000020Au);
}

TEST(ParseSocketAddressTest, BracketedIpv6HostAndPort) {
  std::string why;
  auto a = parseSocketAddress("[2001:db8::1]:443", &why);
  ASSERT_TRUE(a.has_value()) << why;
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->port(), 443);
  EXPECT_EQ(a->length, sizeof(sockaddr_in6));
  EXPECT_EQ(a->toString(), "[2001:db8::1]:443");

  a = parseSocketAddress("[::]:1935", &why);
  ASSERT_TRUE(a.has_value()) << why;
  EXPECT_EQ(a->toString(), "[::]:1935");
}

TEST(ParseSocketAddressTest, PortBoundaries) {
  std::string why;
  auto hi = parseSocketAddress("127.0.0.1:65535", &why);
  ASSERT_TRUE(hi.has_value()) << why;
  EXPECT_EQ(hi->port(), 65535);
  EXPECT_FALSE(parseSocketAddress("127.0.0.1:65536", &why).has_value());
  EXPECT_NE(why.find("65536"), std::string::npos) << why;
}

TEST(ParseSocketAddressTest, MissingPortIsRefused) {
  for (const char* text : {"127.0.0.1", "127.0.0.1:", "[::1]", "[::1]:", "[::1]1935", ""}) {
    std::string why;
    EXPECT_FALSE(parseSocketAddress(text, &why).has_value()) << "'" << text << "'";
    EXPECT_FALSE(why.empty()) << "'" << text << "' needs a reason";
  }
}

TEST(ParseSocketAddressTest, BadPortIsRefused) {
  for (const char* text : {"127.0.0.1:http", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:19 35",
                           "127.0.0.1:1935x", "[::1]:99999"}) {
    std::string why;
    EXPECT_FALSE(parseSocketAddress(text, &why).has_value()) << "'" << text << "'";
    EXPECT_NE(why.find("port"), std::string::npos) << text << ": " << why;
  }
}

TEST(ParseSocketAddressTest, HostnamesAreRefused) {
  for (const char* text : {"localhost:1935", "origin.example.com:1935", "[localhost]:1935",
                           "256.1.1.1:1935", ":1935"}) {
    std::string why;
    EXPECT_FALSE(parseSocketAddress(text, &why).has_value()) << "'" << text << "'";
    EXPECT_NE(why.find("numeric"), std::string::npos) << text << ": " << why;
  }
}

TEST(ParseSocketAddressTest, FromSockaddrCopiesEitherFamily) {
  std::string why;
  for (const char* text : {"10.1.2.3:80", "[fe80::2]:81"}) {
    auto a = parseSocketAddress(text, &why);
    ASSERT_TRUE(a.has_value()) << why;
    SocketAddress b = fromSockaddr(a->get());
    EXPECT_EQ(b.length, a->length);
    EXPECT_EQ(b.toString(), text);
  }
}

// ---------------------------------------------------------------------------
// Client keys

TEST(IpKeyTest, Ipv4IsStoredV4Mapped) {
  IpKey k = key("192.0.2.7");
  IpKey want{};
  want[10] = want[11] = 0xff;
  want[12] = 192;
  want[13] = 0;
  want[14] = 2;
  want[15] = 7;
  EXPECT_EQ(k, want);
  // The same client over a dual-stack socket gets the same key.
  EXPECT_EQ(key("::ffff:192.0.2.7"), k);
}

TEST(IpKeyTest, ToStringRoundTrips) {
  for (const char* ip :
       {"192.0.2.7", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::1", "::", "fe80::1:2:3:4"}) {
    EXPECT_EQ(ipKeyToString(key(ip)), ip);
  }
  // A v4-mapped v6 address reads back as plain IPv4.
  EXPECT_EQ(ipKeyToString(key("::ffff:10.0.0.1")), "10.0.0.1");
}

// ---------------------------------------------------------------------------
// CIDR

TEST(CidrTest, Ipv4SlashZeroMatchesEveryIpv4Client) {
  Cidr all = cidr("0.0.0.0/0");
  EXPECT_TRUE(all.contains(key("1.2.3.4")));
  EXPECT_TRUE(all.contains(key("255.255.255.255")));
  EXPECT_TRUE(all.contains(key("0.0.0.0")));
}

TEST(CidrTest, Ipv4RuleDoesNotMatchIpv6Clients) {
  Cidr all4 = cidr("0.0.0.0/0");
  EXPECT_FALSE(all4.contains(key("2001:db8::1")));
  EXPECT_FALSE(all4.contains(key("::1")));
  // ::a00:1 (v4-compatible, deprecated) is an IPv6 client, not 10.0.0.1.
  EXPECT_FALSE(cidr("10.0.0.0/8").contains(key("::a00:1")));
}

TEST(CidrTest, Ipv4SlashEight) {
  Cidr c = cidr("10.0.0.0/8");
  EXPECT_TRUE(c.contains(key("10.0.0.0")));
  EXPECT_TRUE(c.contains(key("10.255.255.255")));
  EXPECT_FALSE(c.contains(key("11.0.0.0")));
  EXPECT_FALSE(c.contains(key("9.255.255.255")));
}

TEST(CidrTest, Ipv4NonByteAlignedPrefix) {
  Cidr c = cidr("10.0.16.0/20");
  EXPECT_TRUE(c.contains(key("10.0.16.0")));
  EXPECT_TRUE(c.contains(key("10.0.31.255")));
  EXPECT_FALSE(c.contains(key("10.0.32.0")));
  EXPECT_FALSE(c.contains(key("10.0.15.255")));
}

TEST(CidrTest, Ipv4SlashThirtyTwoAndBareAddressMatchOneHost) {
  for (const char* text : {"192.0.2.5/32", "192.0.2.5"}) {
    SCOPED_TRACE(text);
    Cidr c = cidr(text);
    EXPECT_EQ(c.text, text);
    EXPECT_TRUE(c.contains(key("192.0.2.5")));
    EXPECT_FALSE(c.contains(key("192.0.2.4")));
    EXPECT_FALSE(c.contains(key("192.0.2.6")));
    EXPECT_FALSE(c.contains(key("193.0.2.5")));
  }
}

TEST(CidrTest, HostBitsInThePrefixAreIgnored) {
  // Written sloppily (host bits set) still means the /8.
  Cidr c = cidr("10.1.2.3/8");
  EXPECT_TRUE(c.contains(key("10.200.0.1")));
  EXPECT_FALSE(c.contains(key("11.1.2.3")));
}

TEST(CidrTest, Ipv6SlashSixtyFour) {
  Cidr c = cidr("2001:db8:1:2::/64");
  EXPECT_TRUE(c.contains(key("2001:db8:1:2::1")));
  EXPECT_TRUE(c.contains(key("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(c.contains(key("2001:db8:1:3::1")));
  EXPECT_FALSE(c.contains(key("2001:db8:1:1:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(c.contains(key("10.0.0.1")));
}

TEST(CidrTest, Ipv6NonByteAlignedPrefix) {
  Cidr c = cidr("2001:db8::/29");  // 2001:0db8 .. 2001:0dbf
  EXPECT_TRUE(c.contains(key("2001:dbf:ffff::1")));
  EXPECT_FALSE(c.contains(key("2001:dc0::1")));
  EXPECT_FALSE(c.contains(key("2001:db7::1")));
}

TEST(CidrTest, Ipv6SlashOneTwentyEightAndBareAddress) {
  for (const char* text : {"::1/128", "::1"}) {
    SCOPED_TRACE(text);
    Cidr c = cidr(text);
    EXPECT_TRUE(c.contains(key("::1")));
    EXPECT_FALSE(c.contains(key("::2")));
    EXPECT_FALSE(c.contains(key("127.0.0.1")));
  }
}

TEST(CidrTest, Ipv6SlashZeroMatchesEveryone) {
  // ::/0 covers all 128-bit keys, IPv4 clients included (they are v4-mapped).
  Cidr c = cidr("::/0");
  EXPECT_TRUE(c.contains(key("2001:db8::1")));
  EXPECT_TRUE(c.contains(key("10.0.0.1")));
}

TEST(CidrTest, BadPrefixLengthsAreRefused) {
  for (const char* text : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                           "10.0.0.0/ 8", "10.0.0.0/8/8", "::1/300"}) {
    std::string why;
    EXPECT_FALSE(parseCidr(text, &why).has_value()) << "'" << text << "'";
    EXPECT_NE(why.find("prefix"), std::string::npos) << text << ": " << why;
  }
}

TEST(CidrTest, NonAddressesAreRefused) {
  for (const char* text : {"", "/8", "example.com/24", "10.0.0/8", "1.2.3.4.5"}) {
    std::string why;
    EXPECT_FALSE(parseCidr(text, &why).has_value()) << "'" << text << "'";
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace
}  // namespace rtmpgate::proxy
