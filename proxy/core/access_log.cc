#include "proxy/core/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <mutex>

namespace rtmpgate::proxy {

namespace {
std::mutex g_config_mu;  // configure/reopen only; writers never take it
std::string g_path;
std::atomic<int> g_fd{STDERR_FILENO};
std::atomic<bool> g_enabled{true};
std::atomic<bool> g_json{false};

int openLog(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) *error = "access log " + path + ": " + strerror(errno);
  return fd;
}

void timestamp(std::string& out) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[96];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
           utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
           ts.tv_nsec / 1'000'000);
  out += buf;
}
}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char u[8];
          snprintf(u, sizeof(u), "\\u%04x", c);
          out += u;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool AccessLog::configure(const std::string& target, bool json, std::string* error) {
  // Called once at start, before any worker writes: closing the previous
  // descriptor cannot race with a write.
  std::lock_guard lock(g_config_mu);
  if (target == "off") {
    g_enabled = false;
  } else if (target == "stderr" || target.empty()) {
    g_enabled = true;
    int old = g_fd.exchange(STDERR_FILENO);
    if (old != STDERR_FILENO) ::close(old);
    g_path.clear();
  } else {
    int fd = openLog(target, error);
    if (fd < 0) return false;
    int old = g_fd.exchange(fd);
    if (old != STDERR_FILENO) ::close(old);
    g_path = target;
    g_enabled = true;
  }
  g_json = json;
  return true;
}

bool AccessLog::enabled() { return g_enabled.load(std::memory_order_relaxed); }

bool AccessLog::reopen(std::string* error) {
  std::lock_guard lock(g_config_mu);
  if (g_path.empty()) return true;
  int fd = openLog(g_path, error);
  if (fd < 0) return false;
  // dup2 swaps the file under the descriptor workers already use, atomically.
  ::dup2(fd, g_fd.load());
  ::close(fd);
  return true;
}

void AccessLog::write(const AccessRecord& r) {
  if (!enabled()) return;
  std::string line;
  line.reserve(256);
  if (g_json.load(std::memory_order_relaxed)) {
    line += "{\"time\":\"";
    timestamp(line);
    line += "\",\"session\":" + std::to_string(r.session_id) + ",\"client\":";
    appendJsonString(line, r.client);
    line += ",\"backend\":";
    appendJsonString(line, r.backend);
    line += ",\"mode\":";
    appendJsonString(line, r.mode);
    line += ",\"reason\":";
    appendJsonString(line, r.reason);
    if (!r.detail.empty()) {
      line += ",\"detail\":";
      appendJsonString(line, r.detail);
    }
    line += ",\"bytes_client_to_backend\":" + std::to_string(r.bytes_to_backend) +
            ",\"bytes_backend_to_client\":" + std::to_string(r.bytes_to_client) +
            ",\"duration_ms\":" + std::to_string(r.duration_ms) + "}\n";
  } else {
    timestamp(line);
    char buf[128];
    snprintf(buf, sizeof(buf), " access session=%" PRIu64 " client=", r.session_id);
    line += buf;
    line += r.client;
    line += " backend=";
    line += r.backend.empty() ? std::string_view("-") : r.backend;
    line += " mode=";
    line += r.mode.empty() ? std::string_view("-") : r.mode;
    line += " reason=";
    line += r.reason;
    if (!r.detail.empty()) {
      line += " detail=";
      line += r.detail;
    }
    snprintf(buf, sizeof(buf),
             " to_backend=%" PRIu64 " to_client=%" PRIu64 " duration_ms=%" PRIu64 "\n",
             r.bytes_to_backend, r.bytes_to_client, r.duration_ms);
    line += buf;
  }
  ssize_t w = ::write(g_fd.load(std::memory_order_relaxed), line.data(), line.size());
  (void)w;
}

}  // namespace rtmpgate::proxy
