#include "support/nginx_origin.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "support/net.h"

namespace rtmpgate::test {

namespace {

constexpr const char* kNginx = "nginx";
constexpr int kStartAttempts = 3;

}  // namespace

std::string NginxOrigin::configText(uint16_t port, const std::string& live_directives) {
  // No http{} block, so nginx never opens its compiled-in temp paths under
  // /var/lib/nginx. No `user` line: as root, workers drop to nobody, which
  // is fine because nothing is recorded; as non-root nginx keeps the user.
  return "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n"
         "daemon off;\n"
         "master_process on;\n"
         // One worker keeps a stream's publisher and players in one process;
         // live streams are not shared across workers without rtmp_auto_push.
         "worker_processes 1;\n"
         "pid logs/nginx.pid;\n"
         "error_log logs/error.log info;\n"
         "events { worker_connections 256; }\n"
         "rtmp {\n"
         "  server {\n"
         "    listen 127.0.0.1:" + std::to_string(port) + ";\n"
         "    application live {\n"
         "      live on;\n"
         "      record off;\n" +
         (live_directives.empty() ? std::string() : "      " + live_directives + "\n") +
         "    }\n"
         "  }\n"
         "}\n";
}

NginxOrigin::NginxOrigin(std::string live_directives)
    : dir_("rtmpgate-e2e-nginx"), live_directives_(std::move(live_directives)) {
  if (::mkdir(dir_.file("logs").c_str(), 0755) != 0) {
    throw std::runtime_error("mkdir " + dir_.file("logs") + ": " + std::strerror(errno));
  }
  std::string whyNot;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    if (tryStart(whyNot)) return;
  }
  throw std::runtime_error("nginx origin did not start: " + whyNot);
}

NginxOrigin::~NginxOrigin() {
  // SIGTERM is nginx's fast shutdown: it does not wait for live RTMP
  // connections the way SIGQUIT would.
  process_.reset();
}

bool NginxOrigin::tryStart(std::string& whyNot) {
  port_ = freeTcpPort();
  dir_.writeFile("nginx.conf", configText(port_, live_directives_));
  const std::string prefix = dir_.path() + "/";

  {
    // Same check as `nginx -t`, so a broken config fails with nginx's own
    // message instead of a bare "port never opened".
    Process check(kNginx, {"-t", "-q", "-p", prefix, "-c", "nginx.conf", "-e", "logs/error.log"},
                  dir_.file("logs/check.log"));
    auto st = check.waitExit(std::chrono::seconds(10));
    if (!st || !st->exitedWith(0)) {
      throw std::runtime_error("nginx -t rejected the config (" + (st ? st->describe() : "timed out") + "):\n" +
                               check.logTail() + tailOfFile(errorLogPath()) + "config:\n" + configText(port_, live_directives_));
    }
  }

  process_ = std::make_unique<Process>(
      kNginx, std::vector<std::string>{"-p", prefix, "-c", "nginx.conf", "-e", "logs/error.log"}, consoleLogPath());
  if (waitForTcpPort(port_, std::chrono::seconds(10), [this] { return process_->running(); })) return true;

  // Most likely someone took the port between freeTcpPort() and bind.
  whyNot = "port " + std::to_string(port_) + " never accepted; nginx " +
           (process_->running() ? std::string("still running") : process_->waitExit({})->describe()) + "\n" +
           tailOfFile(errorLogPath()) + process_->logTail();
  process_.reset();
  return false;
}

}  // namespace rtmpgate::test
