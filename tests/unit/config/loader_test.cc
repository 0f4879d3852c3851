// loadConfigString: defaults, the BRIEF §4 example, and errors that name
// "file:line:" so `rtmpgate -t` points at the right place.

#include "proxy/config/loader.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/reader.h"

namespace rtmpgate::proxy {
namespace {

using namespace std::chrono_literals;

constexpr const char* kName = "test.yaml";

// Joins lines with '\n', so line N of the file is element N-1.
std::string yaml(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

// Lines 1..5 of most test files: the least a valid config needs.
const std::string kMinimal = yaml({
    "listen:",                        // 1
    "  - address: 0.0.0.0:1935",      // 2
    "upstream:",                      // 3
    "  backends:",                    // 4
    "    - address: 127.0.0.1:1936",  // 5
});

LoadResult load(const std::string& text) { return loadConfigString(text, kName); }

std::string allErrors(const LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += "  " + e + "\n";
  return s;
}

// True if some error starts with "test.yaml:LINE: " and mentions `needle`.
bool hasError(const LoadResult& r, int line, std::string_view needle) {
  const std::string prefix = std::string(kName) + ":" + std::to_string(line) + ": ";
  for (const auto& e : r.errors) {
    if (e.rfind(prefix, 0) == 0 && e.find(needle) != std::string::npos) return true;
  }
  return false;
}

// Asserts the load failed with exactly one error, at `line`, mentioning `needle`.
void expectOneError(const std::string& text, int line, std::string_view needle) {
  LoadResult r = load(text);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_TRUE(hasError(r, line, needle)) << "want line " << line << " '" << needle << "', got:\n"
                                         << allErrors(r);
}

// ---------------------------------------------------------------------------
// Valid files

TEST(LoaderTest, MinimalFileGetsEveryDefault) {
  LoadResult r = load(kMinimal);
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_TRUE(r.errors.empty());
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 0u) << "auto";
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].address.toString(), "0.0.0.0:1935");
  EXPECT_EQ(c.listen[0].name, "0.0.0.0:1935");

  const Policy& p = c.policy;
  EXPECT_EQ(p.handshake.versions, std::vector<uint8_t>{3});
  EXPECT_EQ(p.handshake.mode, rtmp::HandshakeMode::kAuto);
  EXPECT_EQ(p.handshake.echo_check, rtmp::EchoCheck::kStrict);
  EXPECT_EQ(p.handshake.timeout, 10s);
  EXPECT_EQ(p.limits.max_connections, 10000u);
  EXPECT_EQ(p.limits.max_connections_per_ip, 100u);
  EXPECT_TRUE(p.access.allow.empty());
  EXPECT_TRUE(p.access.deny.empty());
  EXPECT_EQ(p.upstream.strategy, Strategy::kRoundRobin);
  EXPECT_EQ(p.upstream.connect_timeout, 3s);
  EXPECT_EQ(p.upstream.max_tries, 2u);
  ASSERT_EQ(p.upstream.backends.size(), 1u);
  EXPECT_EQ(p.upstream.backends[0].address.toString(), "127.0.0.1:1936");
  EXPECT_EQ(p.upstream.backends[0].name, "127.0.0.1:1936");
  EXPECT_EQ(p.upstream.backends[0].weight, 1u);

  EXPECT_EQ(c.control.listen, "127.0.0.1:50051");
  EXPECT_EQ(c.shutdown_timeout, 30s);
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
}

TEST(LoaderTest, BriefExampleParsesAsWritten) {
  const std::string text =
      R"(workers: auto                 # event-loop threads; auto = one per core
listen:
  - address: 0.0.0.0:1935
handshake:
  versions: [3]
  mode: auto                  # auto | simple | digest
  echo_check: strict          # strict | report | off
  timeout: 10s
limits:
  max_connections: 10000
  max_connections_per_ip: 100
access:
  allow: []                   # CIDRs; empty = everyone not denied
  deny: []
upstream:
  strategy: round_robin       # round_robin | least_conn | hash_client_ip
  connect_timeout: 3s
  max_tries: 2
  backends:
    - address: 127.0.0.1:1936
      weight: 1
control:
  listen: 127.0.0.1:50051     # gRPC control plane; loopback by default
shutdown_timeout: 30s
log:
  level: info                 # debug | info | warn | error
)";
  LoadResult r = load(text);
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 0u);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].address.toString(), "0.0.0.0:1935");
  EXPECT_EQ(c.policy.handshake.versions, std::vector<uint8_t>{3});
  EXPECT_EQ(c.policy.handshake.mode, rtmp::HandshakeMode::kAuto);
  EXPECT_EQ(c.policy.handshake.echo_check, rtmp::EchoCheck::kStrict);
  EXPECT_EQ(c.policy.handshake.timeout, 10s);
  EXPECT_EQ(c.policy.limits.max_connections, 10000u);
  EXPECT_EQ(c.policy.limits.max_connections_per_ip, 100u);
  EXPECT_TRUE(c.policy.access.allow.empty());
  EXPECT_TRUE(c.policy.access.deny.empty());
  EXPECT_EQ(c.policy.upstream.strategy, Strategy::kRoundRobin);
  EXPECT_EQ(c.policy.upstream.connect_timeout, 3s);
  EXPECT_EQ(c.policy.upstream.max_tries, 2u);
  ASSERT_EQ(c.policy.upstream.backends.size(), 1u);
  EXPECT_EQ(c.policy.upstream.backends[0].address.toString(), "127.0.0.1:1936");
  EXPECT_EQ(c.policy.upstream.backends[0].weight, 1u);
  EXPECT_EQ(c.control.listen, "127.0.0.1:50051");
  EXPECT_EQ(c.shutdown_timeout, 30s);
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
}

TEST(LoaderTest, EveryFieldIsReadBack) {
  // Every value differs from its default, so a field that is not read shows.
  const std::string text = yaml({
      "workers: 4",
      "listen:",
      "  - address: 0.0.0.0:1935",
      "  - address: '[::1]:1940'",
      "handshake:",
      "  versions: [3, 6]",
      "  mode: simple",
      "  echo_check: report",
      "  timeout: 2500ms",
      "limits:",
      "  max_connections: 500",
      "  max_connections_per_ip: 0",
      "access:",
      "  allow: [10.0.0.0/8, '2001:db8::/32']",
      "  deny:",
      "    - 10.1.2.3",
      "upstream:",
      "  strategy: hash_client_ip",
      "  connect_timeout: 1500ms",
      "  max_tries: 3",
      "  backends:",
      "    - address: 127.0.0.1:1936",
      "      weight: 5",
      "    - address: '[::1]:1937'",
      "control:",
      "  listen: 127.0.0.1:6000",
      "shutdown_timeout: 2m",
      "log:",
      "  level: debug",
  });
  LoadResult r = load(text);
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 4u);
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[1].address.toString(), "[::1]:1940");
  EXPECT_EQ(c.listen[1].address.family(), AF_INET6);

  const Policy& p = c.policy;
  EXPECT_EQ(p.handshake.versions, (std::vector<uint8_t>{3, 6}));
  EXPECT_TRUE(p.handshake.versionSet().test(6));
  EXPECT_FALSE(p.handshake.versionSet().test(4));
  EXPECT_EQ(p.handshake.mode, rtmp::HandshakeMode::kSimple);
  EXPECT_EQ(p.handshake.echo_check, rtmp::EchoCheck::kReport);
  EXPECT_EQ(p.handshake.timeout, 2500ms);
  EXPECT_EQ(p.limits.max_connections, 500u);
  EXPECT_EQ(p.limits.max_connections_per_ip, 0u) << "0 = no per-IP limit";
  ASSERT_EQ(p.access.allow.size(), 2u);
  EXPECT_EQ(p.access.allow[0].text, "10.0.0.0/8");
  EXPECT_EQ(p.access.allow[1].text, "2001:db8::/32");
  ASSERT_EQ(p.access.deny.size(), 1u);
  EXPECT_EQ(p.access.deny[0].text, "10.1.2.3");
  EXPECT_EQ(p.upstream.strategy, Strategy::kHashClientIp);
  EXPECT_EQ(p.upstream.connect_timeout, 1500ms);
  EXPECT_EQ(p.upstream.max_tries, 3u);
  ASSERT_EQ(p.upstream.backends.size(), 2u);
  EXPECT_EQ(p.upstream.backends[0].weight, 5u);
  EXPECT_EQ(p.upstream.backends[1].name, "[::1]:1937");
  EXPECT_EQ(p.upstream.backends[1].address.port(), 1937);
  EXPECT_EQ(p.upstream.backends[1].weight, 1u);
  EXPECT_EQ(c.control.listen, "127.0.0.1:6000");
  EXPECT_EQ(c.shutdown_timeout, 2min);
  EXPECT_EQ(c.log.level, LogLevel::kDebug);
}

TEST(LoaderTest, OtherEnumValuesAreRead) {
  LoadResult r = load(kMinimal + yaml({
                                     "handshake:",
                                     "  mode: digest",
                                     "  echo_check: 'off'",
                                     "log:",
                                     "  level: error",
                                 }));
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_EQ(r.config->policy.handshake.mode, rtmp::HandshakeMode::kDigest);
  EXPECT_EQ(r.config->policy.handshake.echo_check, rtmp::EchoCheck::kOff);
  EXPECT_EQ(r.config->log.level, LogLevel::kError);

  r = load(kMinimal + yaml({"  strategy: least_conn"}));  // continues the upstream block
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_EQ(r.config->policy.upstream.strategy, Strategy::kLeastConn);
}

TEST(LoaderTest, UpstreamHandshakeIsSimpleByDefaultAndDigestWhenAsked) {
  LoadResult r = load(kMinimal);
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_EQ(r.config->policy.upstream.handshake, rtmp::ClientMode::kSimple);
  r = load(kMinimal + yaml({"  handshake: digest"}));  // continues the upstream block
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_EQ(r.config->policy.upstream.handshake, rtmp::ClientMode::kDigest);
  r = load(kMinimal + yaml({"  handshake: simple"}));
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_EQ(r.config->policy.upstream.handshake, rtmp::ClientMode::kSimple);
}

TEST(LoaderTest, BareNumberDurationIsSeconds) {
  LoadResult r = load(kMinimal + yaml({"shutdown_timeout: 7"}));
  ASSERT_TRUE(r.config.has_value()) << allErrors(r);
  EXPECT_EQ(r.config->shutdown_timeout, 7s);
}

// ---------------------------------------------------------------------------
// Errors name file and line

TEST(LoaderErrorTest, UnknownTopLevelKey) {
  expectOneError(kMinimal + yaml({"workers: 2", "handshakes:", "  mode: auto"}), 7, "handshakes");
}

TEST(LoaderErrorTest, UnknownKeyInHandshake) {
  expectOneError(kMinimal + yaml({"handshake:", "  versions: [3]", "  tiemout: 10s"}), 8,
                 "tiemout");
}

TEST(LoaderErrorTest, UnknownKeyInUpstream) {
  expectOneError(kMinimal + yaml({"  stratgy: least_conn"}), 6, "stratgy");
}

TEST(LoaderErrorTest, UnknownKeyInBackendEntry) {
  expectOneError(yaml({
                     "listen:",
                     "  - address: 0.0.0.0:1935",
                     "upstream:",
                     "  backends:",
                     "    - address: 127.0.0.1:1936",
                     "      wieght: 2",
                 }),
                 6, "wieght");
}

TEST(LoaderErrorTest, UnknownKeyInOtherBlocks) {
  expectOneError(kMinimal + yaml({"limits:", "  max_conns: 5"}), 7, "max_conns");
  expectOneError(kMinimal + yaml({"access:", "  permit: []"}), 7, "permit");
  expectOneError(kMinimal + yaml({"log:", "  lvl: info"}), 7, "lvl");
  expectOneError(kMinimal + yaml({"control:", "  address: 127.0.0.1:1"}), 7, "address");
  expectOneError(yaml({"listen:", "  - address: 0.0.0.0:1935", "    port: 1",  //
                       "upstream:", "  backends:", "    - address: 127.0.0.1:1936"}),
                 3, "port");
}

TEST(LoaderErrorTest, BadDurations) {
  expectOneError(kMinimal + yaml({"handshake:", "  timeout: 5x"}), 7, "5x");
  expectOneError(kMinimal + yaml({"  connect_timeout: 10 s"}), 6, "connect_timeout");
  expectOneError(kMinimal + yaml({"shutdown_timeout: -1s"}), 6, "shutdown_timeout");
}

TEST(LoaderErrorTest, ZeroTimeoutsAreRefused) {
  expectOneError(kMinimal + yaml({"handshake:", "  timeout: 0s"}), 7, "handshake.timeout");
  expectOneError(kMinimal + yaml({"  connect_timeout: 0"}), 6, "connect_timeout");
}

TEST(LoaderErrorTest, BadEnums) {
  expectOneError(kMinimal + yaml({"handshake:", "  mode: fancy"}), 7, "fancy");
  expectOneError(kMinimal + yaml({"handshake:", "  echo_check: loose"}), 7, "loose");
  expectOneError(kMinimal + yaml({"  strategy: random"}), 6, "random");
  expectOneError(kMinimal + yaml({"  handshake: auto"}), 6, "upstream.handshake");
  expectOneError(kMinimal + yaml({"log:", "  level: loud"}), 7, "loud");
}

TEST(LoaderErrorTest, BadAddresses) {
  expectOneError(yaml({"listen:", "  - address: localhost:1935",  //
                       "upstream:", "  backends:", "    - address: 127.0.0.1:1936"}),
                 2, "localhost");
  expectOneError(yaml({"listen:", "  - address: 0.0.0.0:1935",  //
                       "upstream:", "  backends:", "    - address: 127.0.0.1:99999"}),
                 5, "99999");
  expectOneError(yaml({"listen:", "  - address: 0.0.0.0:1935",  //
                       "upstream:", "  backends:", "    - address: 127.0.0.1"}),
                 5, "127.0.0.1");
}

TEST(LoaderErrorTest, BadCidr) {
  expectOneError(kMinimal + yaml({"access:", "  allow:", "    - 10.0.0.0/33"}), 8, "/33");
  expectOneError(kMinimal + yaml({"access:", "  deny: [not-an-ip]"}), 7, "not-an-ip");
}

TEST(LoaderErrorTest, VersionOutOfByteRange) {
  expectOneError(kMinimal + yaml({"handshake:", "  versions: [3, 300]"}), 7, "300");
  expectOneError(kMinimal + yaml({"handshake:", "  versions:", "    - 3", "    - 300"}), 9, "300");
}

TEST(LoaderErrorTest, EmptyVersionListIsRefused) {
  expectOneError(kMinimal + yaml({"handshake:", "  versions: []"}), 7, "versions");
}

TEST(LoaderErrorTest, NumbersOutOfRange) {
  expectOneError(kMinimal + yaml({"workers: 0"}), 6, "workers");
  expectOneError(kMinimal + yaml({"limits:", "  max_connections: 0"}), 7, "max_connections");
  expectOneError(kMinimal + yaml({"  max_tries: 0"}), 6, "max_tries");
  expectOneError(
      yaml({"listen:", "  - address: 0.0.0.0:1935",  //
            "upstream:", "  backends:", "    - address: 127.0.0.1:1936", "      weight: 0"}),
      6, "weight");
}

TEST(LoaderErrorTest, MissingListen) {
  LoadResult r = load(yaml({"upstream:", "  backends:", "    - address: 127.0.0.1:1936"}));
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_EQ(r.errors[0].rfind(std::string(kName) + ":", 0), 0u) << r.errors[0];
  EXPECT_NE(r.errors[0].find("listen"), std::string::npos) << r.errors[0];
}

TEST(LoaderErrorTest, EmptyListenList) {
  expectOneError(yaml({"listen: []", "upstream:", "  backends:", "    - address: 127.0.0.1:1936"}),
                 1, "listen");
}

TEST(LoaderErrorTest, EmptyBackends) {
  LoadResult r = load(yaml({"listen:", "  - address: 0.0.0.0:1935",
                            "upstream:", "  strategy: round_robin", "  backends: []"}));
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_NE(r.errors[0].find("backend"), std::string::npos) << r.errors[0];
  // Pointing into the upstream block (its key or its first line) is fine.
  EXPECT_TRUE(hasError(r, 3, "backend") || hasError(r, 4, "backend") || hasError(r, 5, "backend"))
      << allErrors(r);
}

TEST(LoaderErrorTest, MissingUpstream) {
  LoadResult r = load(yaml({"listen:", "  - address: 0.0.0.0:1935"}));
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_NE(r.errors[0].find("backends"), std::string::npos) << r.errors[0];
}

TEST(LoaderErrorTest, WrongShapesAreErrorsNotCrashes) {
  expectOneError(kMinimal + yaml({"handshake: yes"}), 6, "handshake");
  expectOneError(
      yaml({"listen: 0.0.0.0:1935", "upstream:", "  backends:", "    - address: 127.0.0.1:1936"}),
      1, "listen");
  expectOneError(
      yaml({"listen:", "  - address: 0.0.0.0:1935", "upstream:", "  backends: 127.0.0.1:1936"}), 4,
      "backends");
  expectOneError(kMinimal + yaml({"access:", "  allow: 10.0.0.0/8"}), 7, "allow");
  expectOneError(kMinimal + yaml({"handshake:", "  versions: [[3]]"}), 7, "versions");
}

TEST(LoaderErrorTest, NonMappingDocumentIsRefused) {
  for (const char* text : {"", "just a string\n", "- a\n- b\n"}) {
    LoadResult r = load(text);
    EXPECT_FALSE(r.config.has_value()) << "'" << text << "'";
    EXPECT_FALSE(r.errors.empty());
  }
}

TEST(LoaderErrorTest, SeveralErrorsInOneFileAreAllReported) {
  const std::string text = yaml({
      "bogus: 1",                          // 1
      "listen:",                           // 2
      "  - address: 0.0.0.0:1935",         // 3
      "handshake:",                        // 4
      "  timeout: 5x",                     // 5
      "upstream:",                         // 6
      "  strategy: random",                // 7
      "  backends:",                       // 8
      "    - address: 127.0.0.1:1936",     // 9
      "    - address: host.example:1936",  // 10
      "log:",                              // 11
      "  level: loud",                     // 12
  });
  LoadResult r = load(text);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors.size(), 5u) << allErrors(r);
  EXPECT_TRUE(hasError(r, 1, "bogus")) << allErrors(r);
  EXPECT_TRUE(hasError(r, 5, "5x")) << allErrors(r);
  EXPECT_TRUE(hasError(r, 7, "random")) << allErrors(r);
  EXPECT_TRUE(hasError(r, 10, "host.example")) << allErrors(r);
  EXPECT_TRUE(hasError(r, 12, "loud")) << allErrors(r);
}

// An unknown key (a typo) must not hide the other problems of its block:
// ConfigReader promises "every problem ... so rtmpgate -t can print all of
// them at once".
TEST(LoaderErrorTest, UnknownKeyDoesNotHideOtherErrorsInItsBlock) {
  const std::string text = kMinimal + yaml({
                                          "handshake:",      // 6
                                          "  tiemout: 10s",  // 7
                                          "  mode: fast",    // 8
                                      });
  LoadResult r = load(text);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(hasError(r, 7, "tiemout")) << allErrors(r);
  EXPECT_TRUE(hasError(r, 8, "fast")) << allErrors(r);
}

// YAML requires keys to be unique. A second `upstream:` (say, appended at the
// end of the file to override the first) must not be silently ignored.
TEST(LoaderErrorTest, DuplicateKeyIsAnError) {
  const std::string text = kMinimal + yaml({
                                          "upstream:",                      // 6
                                          "  backends:",                    // 7
                                          "    - address: 127.0.0.1:1999",  // 8
                                      });
  LoadResult r = load(text);
  EXPECT_FALSE(r.config.has_value())
      << "second upstream block silently ignored; backends[0] = "
      << (r.config ? r.config->policy.upstream.backends[0].name : std::string());
  EXPECT_TRUE(hasError(r, 6, "upstream")) << allErrors(r);
}

TEST(LoaderErrorTest, YamlSyntaxErrorNamesItsLine) {
  LoadResult r = load(yaml({
      "listen:",                        // 1
      "  - address: 0.0.0.0:1935",      // 2
      "upstream:",                      // 3
      "  backends:",                    // 4
      "    - address: 127.0.0.1:1936",  // 5
      " workers: 2",                    // 6: bad indentation
  }));
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_NE(r.errors[0].find("YAML syntax error"), std::string::npos) << r.errors[0];
  EXPECT_TRUE(hasError(r, 6, "")) << allErrors(r);

  r = load(yaml(
      {"listen:", "  - address: 0.0.0.0:1935", "access:", "  allow: [10.0.0.0/8", "upstream:"}));
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << allErrors(r);
  EXPECT_NE(r.errors[0].find("YAML syntax error"), std::string::npos) << r.errors[0];
  // The unclosed flow sequence opened on line 4; the parser notices at or after it.
  bool near = false;
  for (int line = 4; line <= 6; ++line) near = near || hasError(r, line, "");
  EXPECT_TRUE(near) << allErrors(r);
}

// ---------------------------------------------------------------------------
// parseDuration

TEST(ParseDurationTest, UnitsAndBareSeconds) {
  EXPECT_EQ(parseDuration("500ms"), Millis(500));
  EXPECT_EQ(parseDuration("10s"), Millis(10'000));
  EXPECT_EQ(parseDuration("2m"), Millis(120'000));
  EXPECT_EQ(parseDuration("1h"), Millis(3'600'000));
  EXPECT_EQ(parseDuration("7"), Millis(7'000));
  EXPECT_EQ(parseDuration("0"), Millis(0));
  EXPECT_EQ(parseDuration("0ms"), Millis(0));
}

TEST(ParseDurationTest, RejectsMalformedText) {
  for (const char* bad : {"", "ms", "s", "-1s", "+5s", "10 s", " 10s", "10s ", "1.5s", "10S",
                          "10sec", "5x", "1m30s", "0x10s"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(ParseDurationTest, RejectsValuesThatWouldOverflow) {
  EXPECT_EQ(parseDuration("99999999999999999999s"), std::nullopt);
  EXPECT_EQ(parseDuration("18446744073709551615h"), std::nullopt);
  // Large but sane values still parse: a year.
  EXPECT_EQ(parseDuration("8760h"), Millis(8760LL * 3'600'000));
}

}  // namespace
}  // namespace rtmpgate::proxy
