#include "proxy/core/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace rtmpgate::proxy {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AccessRecord sample() {
  return {.session_id = 7,
          .client = "1.2.3.4:5",
          .backend = "10.0.0.1:1935",
          .mode = "simple",
          .reason = "client_closed_session",
          .detail = "",
          .bytes_to_backend = 100,
          .bytes_to_client = 200,
          .duration_ms = 3000};
}

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtmpgate-access-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/access.log";
  }
  void TearDown() override {
    std::string err;
    AccessLog::configure("stderr", false, &err);
    std::remove(path_.c_str());
    std::remove((path_ + ".1").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(AccessLogTest, TextLineCarriesEveryField) {
  std::string err;
  ASSERT_TRUE(AccessLog::configure(path_, false, &err)) << err;
  AccessLog::write(sample());
  std::string line = slurp(path_);
  for (const char* want : {" access session=7 ", "client=1.2.3.4:5", "backend=10.0.0.1:1935",
                           "mode=simple", "reason=client_closed_session", "to_backend=100",
                           "to_client=200", "duration_ms=3000\n"}) {
    EXPECT_NE(line.find(want), std::string::npos) << want << " in " << line;
  }
}

TEST_F(AccessLogTest, JsonLineIsOneEscapedObject) {
  std::string err;
  ASSERT_TRUE(AccessLog::configure(path_, true, &err)) << err;
  AccessRecord r = sample();
  r.detail = "quote\" and \\ and \n";
  AccessLog::write(r);
  std::string line = slurp(path_);
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.substr(line.size() - 2), "}\n");
  EXPECT_NE(line.find(R"("detail":"quote\" and \\ and \n")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("bytes_backend_to_client":200)"), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST_F(AccessLogTest, ReopenFollowsLogrotate) {
  std::string err;
  ASSERT_TRUE(AccessLog::configure(path_, false, &err)) << err;
  AccessLog::write(sample());
  ASSERT_EQ(std::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  AccessLog::write(sample());  // still to the renamed file, as logrotate expects
  ASSERT_TRUE(AccessLog::reopen(&err)) << err;
  AccessLog::write(sample());
  std::string rotated = slurp(path_ + ".1");
  EXPECT_EQ(std::count(rotated.begin(), rotated.end(), '\n'), 2);
  std::string fresh = slurp(path_);
  EXPECT_EQ(std::count(fresh.begin(), fresh.end(), '\n'), 1);
}

TEST_F(AccessLogTest, OffWritesNothingAndBadPathIsRefused) {
  std::string err;
  ASSERT_TRUE(AccessLog::configure("off", false, &err));
  EXPECT_FALSE(AccessLog::enabled());
  EXPECT_FALSE(AccessLog::configure("/nonexistent-dir/x.log", false, &err));
  EXPECT_NE(err.find("/nonexistent-dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace rtmpgate::proxy
