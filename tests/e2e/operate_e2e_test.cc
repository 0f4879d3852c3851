// Operating the shipped binary: hot reload from a ConfigMap-style symlink
// swap, --health-check, SIGUSR1 log reopen, JSON logs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/net.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "e2e/probe.h"

namespace rtmpgate::test {
namespace {

using namespace std::chrono_literals;

std::string baseConfig(uint16_t port, const std::string& extra) {
  return "workers: 1\nlisten:\n  - address: 127.0.0.1:" + std::to_string(port) +
         "\nupstream:\n  backends:\n    - address: 127.0.0.1:9\ncontrol: {listen: \"\"}\n"
         "shutdown_timeout: 1s\n" +
         extra;
}

size_t countLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// kubelet's layout: name -> ..data/name, ..data -> ..<timestamp>/
void publishConfigMap(const TempDir& dir, const std::string& version, const std::string& text) {
  std::string real = dir.file(".." + version);
  mkdir(real.c_str(), 0755);
  std::ofstream(real + "/rtmpgate.yaml") << text;
  std::string tmp = dir.file("..data_tmp");
  unlink(tmp.c_str());
  ASSERT_EQ(symlink((".." + version).c_str(), tmp.c_str()), 0);
  ASSERT_EQ(rename(tmp.c_str(), dir.file("..data").c_str()), 0);  // the atomic swap
  std::string link = dir.file("rtmpgate.yaml");
  if (access(link.c_str(), F_OK) != 0) ASSERT_EQ(symlink("..data/rtmpgate.yaml", link.c_str()), 0);
}

TEST(OperateE2E, WatchConfigFollowsAConfigMapSymlinkSwap) {
  TempDir dir("configmap");
  uint16_t port = freeTcpPort();
  publishConfigMap(dir, "v1", baseConfig(port, "watch_config: true\n"));
  Process gw(RTMPGATE_BIN, {"--config", dir.file("rtmpgate.yaml")}, dir.file("gw.log"));
  ASSERT_TRUE(waitForTcpPort(port, 5s, [&] { return gw.running(); })) << gw.logTail();
  ASSERT_TRUE(admitted(port));

  publishConfigMap(dir, "v2", baseConfig(port, "watch_config: true\naccess: {deny: [127.0.0.0/8]}\n"));
  EXPECT_TRUE(eventuallyAdmitted(port, false, 5s)) << "swap not picked up\n" << gw.logTail();
  EXPECT_NE(gw.logText().find("reload (file changed)"), std::string::npos);

  publishConfigMap(dir, "v3", baseConfig(port, "watch_config: true\nacess: {}\n"));
  std::this_thread::sleep_for(1500ms);
  EXPECT_NE(gw.logText().find("unknown top-level key 'acess'"), std::string::npos) << gw.logTail();
  EXPECT_FALSE(admitted(port)) << "a bad file replaced the running policy";
  EXPECT_TRUE(gw.stop(5s).exitedWith(0));
}

TEST(OperateE2E, HealthCheckCommandReflectsTheServer) {
  TempDir dir("health");
  uint16_t port = freeTcpPort();
  uint16_t ctl = freeTcpPort();
  std::ofstream(dir.file("gw.yaml"))
      << "workers: 1\nlisten:\n  - address: 127.0.0.1:" << port
      << "\nupstream:\n  backends:\n    - address: 127.0.0.1:9\ncontrol: {listen: 127.0.0.1:"
      << ctl << "}\nshutdown_timeout: 1s\n";
  std::string addr = "127.0.0.1:" + std::to_string(ctl);
  {
    Process probe(RTMPGATE_BIN, {"--health-check", addr}, dir.file("probe0.log"));
    auto st = probe.waitExit(10s);
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->exitedWith(1)) << "nothing listens yet: must fail";
  }
  Process gw(RTMPGATE_BIN, {"--config", dir.file("gw.yaml")}, dir.file("gw.log"));
  ASSERT_TRUE(waitForTcpPort(ctl, 5s, [&] { return gw.running(); })) << gw.logTail();
  Process probe(RTMPGATE_BIN, {"--health-check", addr}, dir.file("probe1.log"));
  auto st = probe.waitExit(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exitedWith(0)) << readFileText(dir.file("probe1.log"));
  EXPECT_NE(readFileText(dir.file("probe1.log")).find("SERVING"), std::string::npos);
}

TEST(OperateE2E, Sigusr1ReopensTheAccessLogAndJsonLogsAreJson) {
  TempDir dir("accesslog");
  uint16_t port = freeTcpPort();
  std::string log = dir.file("access.log");
  std::ofstream(dir.file("gw.yaml"))
      << baseConfig(port, "log: {format: json, access_log: " + log + "}\n");
  Process gw(RTMPGATE_BIN, {"--config", dir.file("gw.yaml")}, dir.file("gw.log"));
  ASSERT_TRUE(waitForTcpPort(port, 5s, [&] { return gw.running(); })) << gw.logTail();
  auto session = [&] {
    UniqueFd fd = connectTcp(port, 1s);
    ::send(fd.get(), "\x16", 1, MSG_NOSIGNAL);
    char c;
    ::recv(fd.get(), &c, 1, 0);
  };
  auto waitLines = [&](const std::string& path, size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (countLines(readFileText(path)) < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    return countLines(readFileText(path));
  };
  // waitForTcpPort's probe connection is one session already.
  session();
  ASSERT_EQ(waitLines(log, 2), 2u);
  ASSERT_EQ(rename(log.c_str(), (log + ".1").c_str()), 0);
  ASSERT_TRUE(gw.signal(SIGUSR1));
  std::this_thread::sleep_for(300ms);
  session();
  EXPECT_EQ(waitLines(log, 1), 1u) << "no new file after SIGUSR1";
  EXPECT_EQ(countLines(readFileText(log + ".1")), 2u);
  std::string line = readFileText(log);
  EXPECT_EQ(line.rfind("{\"time\":", 0), 0u) << line;
  EXPECT_NE(line.find("\"reason\":\"bad_version\""), std::string::npos) << line;
  EXPECT_TRUE(gw.stop(5s).exitedWith(0));
  std::istringstream err(readFileText(dir.file("gw.log")));
  std::string l;
  size_t lines = 0;
  while (std::getline(err, l)) {
    ++lines;
    EXPECT_EQ(l.rfind("{\"time\":\"", 0), 0u) << "not a JSON log line: " << l;
    EXPECT_EQ(l.back(), '}') << l;
  }
  EXPECT_GT(lines, 2u);
}

}  // namespace
}  // namespace rtmpgate::test
