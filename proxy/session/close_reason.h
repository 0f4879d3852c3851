// Why a connection ended. One enum feeds the log line, the event and the
// counter, so the three can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/stats/stats.h"

namespace rtmpgate::proxy {

#define RTMPGATE_CLOSE_REASONS(X)                                                 \
  /* name, log/event text, counter bumped (or none) */                           \
  X(kNone, "none", std::nullopt)                                                  \
  X(kDeniedAccess, "denied_access", Stat::connections_denied_access)              \
  X(kDeniedLimits, "denied_limits", Stat::connections_denied_limits)              \
  X(kBadVersion, "bad_version", Stat::handshakes_failed_bad_version)              \
  X(kEchoMismatch, "echo_mismatch", Stat::handshakes_failed_echo_mismatch)        \
  X(kDigestInvalid, "digest_invalid", Stat::handshakes_failed_digest_invalid)     \
  X(kHandshakeTimeout, "timeout", Stat::handshakes_failed_timeout)                \
  X(kClientClosedHandshake, "client_closed", Stat::handshakes_failed_client_closed) \
  X(kNoBackend, "no_backend", Stat::upstream_no_backend)                          \
  X(kClientClosed, "client_closed_session", std::nullopt)                         \
  X(kBackendClosed, "backend_closed_session", std::nullopt)                       \
  X(kClientError, "client_error", std::nullopt)                                   \
  X(kBackendError, "backend_error", std::nullopt)                                 \
  X(kShutdown, "shutdown", std::nullopt)                                          \
  X(kAdminClose, "admin_close", std::nullopt)

enum class CloseReason : uint8_t {
#define RTMPGATE_CLOSE_ENUM(e, text, stat) e,
  RTMPGATE_CLOSE_REASONS(RTMPGATE_CLOSE_ENUM)
#undef RTMPGATE_CLOSE_ENUM
};

std::string_view closeReasonName(CloseReason r);
std::optional<Stat> closeReasonStat(CloseReason r);

}  // namespace rtmpgate::proxy
