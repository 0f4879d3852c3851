// The binary as an operator meets it: --check, --version, --help, and SIGHUP
// reloads that apply a good file and keep the running one on a bad file.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include "support/net.h"
#include "e2e/probe.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace rtmpgate::test {
namespace {

using namespace std::chrono_literals;

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

ExitStatus runToEnd(const std::vector<std::string>& args, const std::string& log) {
  Process p(RTMPGATE_BIN, args, log);
  auto st = p.waitExit(10s);
  return st ? *st : p.stop();
}

TEST(Cli, CheckAcceptsTheExampleConfig) {
  TempDir dir("cli");
  std::string log = dir.path() + "/out.log";
  ExitStatus st = runToEnd({"--config", RTMPGATE_SOURCE_DIR "/deploy/rtmpgate.yaml", "-t"}, log);
  EXPECT_TRUE(st.exitedWith(0)) << st.describe() << "\n" << readFileText(log);
  EXPECT_NE(readFileText(log).find("test is successful"), std::string::npos);
}

TEST(Cli, CheckReportsEveryErrorWithItsLineAndFails) {
  TempDir dir("cli");
  std::string cfg = dir.path() + "/bad.yaml";
  writeFile(cfg,
            "listen:\n"
            "  - address: 127.0.0.1:1935\n"
            "handshake:\n"
            "  timeout: soon\n"
            "  echo_chek: strict\n"
            "upstream:\n"
            "  backends:\n"
            "    - address: 127.0.0.1:99999\n");
  std::string log = dir.path() + "/out.log";
  ExitStatus st = runToEnd({"--config", cfg, "--check"}, log);
  std::string out = readFileText(log);
  EXPECT_TRUE(st.exitedWith(1)) << st.describe() << "\n" << out;
  EXPECT_NE(out.find("bad.yaml:4: handshake.timeout"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.yaml:5: unknown key 'echo_chek'"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.yaml:8:"), std::string::npos) << out;
  EXPECT_NE(out.find("test failed"), std::string::npos) << out;
}

TEST(Cli, VersionAndHelpExitZero) {
  TempDir dir("cli");
  std::string log = dir.path() + "/out.log";
  EXPECT_TRUE(runToEnd({"--version"}, log).exitedWith(0));
  EXPECT_NE(readFileText(log).find("rtmpgate "), std::string::npos);
  EXPECT_TRUE(runToEnd({"--help"}, log).exitedWith(0));
  EXPECT_NE(readFileText(log).find("--check"), std::string::npos);
  EXPECT_TRUE(runToEnd({"--bogus"}, log).exitedWith(2));
}

std::string configFor(uint16_t port, const std::string& access) {
  return "workers: 1\nlisten:\n  - address: 127.0.0.1:" + std::to_string(port) +
         "\naccess: " + access +
         "\nupstream:\n  backends:\n    - address: 127.0.0.1:9\nshutdown_timeout: 1s\n";
}

TEST(Cli, SighupAppliesAGoodFileAndKeepsTheRunningOneOnABadFile) {
  TempDir dir("cli");
  std::string cfg = dir.path() + "/gw.yaml";
  uint16_t port = freeTcpPort();
  writeFile(cfg, configFor(port, "{}"));
  Process gw(RTMPGATE_BIN, {"--config", cfg}, dir.path() + "/gw.log");
  ASSERT_TRUE(waitForTcpPort(port, 5s, [&] { return gw.running(); })) << gw.logTail();
  ASSERT_TRUE(admitted(port)) << gw.logTail();

  writeFile(cfg, configFor(port, "{deny: [127.0.0.0/8]}"));
  ASSERT_TRUE(gw.signal(SIGHUP));
  EXPECT_TRUE(eventuallyAdmitted(port, false)) << "deny rule not applied\n" << gw.logTail();

  writeFile(cfg, configFor(port, "{deny: [not-a-cidr]}"));
  ASSERT_TRUE(gw.signal(SIGHUP));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (gw.logText().find("reload rejected") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(gw.logText().find("gw.yaml:4: access.deny"), std::string::npos) << gw.logTail();
  EXPECT_FALSE(admitted(port)) << "a bad reload replaced the running policy";
  EXPECT_TRUE(gw.running());

  writeFile(cfg, configFor(port, "{}"));
  ASSERT_TRUE(gw.signal(SIGHUP));
  EXPECT_TRUE(eventuallyAdmitted(port, true)) << gw.logTail();
  ExitStatus st = gw.stop(5s);
  EXPECT_TRUE(st.exitedWith(0)) << st.describe();
}

}  // namespace
}  // namespace rtmpgate::test
