#include "proxy/core/log.h"

#include "proxy/core/access_log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <string>

namespace rtmpgate::proxy {

namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<bool> g_json{false};
const char* const kLevelNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
void setLogJson(bool json) { g_json.store(json, std::memory_order_relaxed); }

bool logEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void logAt(LogLevel level, const char* fmt, ...) {
  if (!logEnabled(level)) return;
  char line[1024];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                   utc.tm_sec, ts.tv_nsec / 1'000'000, kLevelNames[static_cast<int>(level)]);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof(line) - n - 2));
  if (g_json.load(std::memory_order_relaxed)) {
    // Same fields, as one JSON object: time and level from the prefix.
    std::string out = "{\"time\":\"";
    out.append(line, 24);
    out += "\",\"level\":\"";
    out += kLevelNames[static_cast<int>(level)];
    out += "\",\"msg\":";
    appendJsonString(out, std::string_view(line + n, len - n));
    out += "}\n";
    ssize_t w = ::write(STDERR_FILENO, out.data(), out.size());
    (void)w;
    return;
  }
  line[len++] = '\n';
  ssize_t w = ::write(STDERR_FILENO, line, len);
  (void)w;
}

}  // namespace rtmpgate::proxy
