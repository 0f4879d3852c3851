#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/process.h"
#include "support/temp_dir.h"

namespace rtmpgate::test {

// A private nginx-rtmp origin (application "live") on a free loopback port,
// running in the foreground in its own temp prefix directory. Construction
// returns once the port accepts; destruction stops nginx and removes the dir.
class NginxOrigin {
 public:
  // Throws std::runtime_error, with nginx's own words, when it cannot start.
  // live_directives go into `application live {}`, e.g. "push rtmp://...;"
  // to make this nginx relay what is published to it.
  explicit NginxOrigin(std::string live_directives = "");
  ~NginxOrigin();

  NginxOrigin(const NginxOrigin&) = delete;
  NginxOrigin& operator=(const NginxOrigin&) = delete;

  uint16_t port() const { return port_; }
  const std::string& prefix() const { return dir_.path(); }
  std::string errorLogPath() const { return dir_.file("logs/error.log"); }
  // nginx's stdout/stderr (start-up errors before the error log is opened).
  std::string consoleLogPath() const { return dir_.file("logs/console.log"); }
  bool running() { return process_ && process_->running(); }

  static std::string configText(uint16_t port, const std::string& live_directives = "");

 private:
  bool tryStart(std::string& whyNot);

  TempDir dir_;
  std::string live_directives_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace rtmpgate::test
