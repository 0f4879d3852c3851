// Leveled logging to stderr. One write(2) per line, so lines from different
// workers never interleave.
#pragma once

#include "proxy/config/config.h"

namespace rtmpgate::proxy {

void setLogLevel(LogLevel level);
// One JSON object per line ({"time","level","msg"}) instead of text.
void setLogJson(bool json);
bool logEnabled(LogLevel level);
void logAt(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define logDebug(...) \
  (::rtmpgate::proxy::logEnabled(::rtmpgate::proxy::LogLevel::kDebug) && \
   (::rtmpgate::proxy::logAt(::rtmpgate::proxy::LogLevel::kDebug, __VA_ARGS__), true))
#define logInfo(...) ::rtmpgate::proxy::logAt(::rtmpgate::proxy::LogLevel::kInfo, __VA_ARGS__)
#define logWarn(...) ::rtmpgate::proxy::logAt(::rtmpgate::proxy::LogLevel::kWarn, __VA_ARGS__)
#define logError(...) ::rtmpgate::proxy::logAt(::rtmpgate::proxy::LogLevel::kError, __VA_ARGS__)

}  // namespace rtmpgate::proxy
