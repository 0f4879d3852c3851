// Why a connection ended. One enum feeds the log line, the event and the
// counter, so the three can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/stats/stats.h"

namespace rtmpgate::proxy {

#define RTMPGATE_CLOSE_REASONS(X)                                                          \
  /* name, log/event text, counter bumped (or none), refused before being served */        \
  X(kNone, "none", std::nullopt, false)                                                    \
  X(kDeniedAccess, "denied_access", Stat::connections_denied_access, true)                 \
  X(kDeniedLimits, "denied_limits", Stat::connections_denied_limits, true)                 \
  X(kBadVersion, "bad_version", Stat::handshakes_failed_bad_version, true)                 \
  X(kEchoMismatch, "echo_mismatch", Stat::handshakes_failed_echo_mismatch, true)           \
  X(kDigestInvalid, "digest_invalid", Stat::handshakes_failed_digest_invalid, true)        \
  X(kHandshakeTimeout, "timeout", Stat::handshakes_failed_timeout, true)                   \
  X(kClientClosedHandshake, "client_closed", Stat::handshakes_failed_client_closed, true)  \
  X(kNoBackend, "no_backend", Stat::upstream_no_backend, false)                            \
  X(kClientClosed, "client_closed_session", std::nullopt, false)                           \
  X(kBackendClosed, "backend_closed_session", std::nullopt, false)                         \
  X(kClientError, "client_error", std::nullopt, false)                                     \
  X(kBackendError, "backend_error", std::nullopt, false)                                   \
  X(kShutdown, "shutdown", std::nullopt, false)                                            \
  X(kAdminClose, "admin_close", std::nullopt, false)

enum class CloseReason : uint8_t {
#define RTMPGATE_CLOSE_ENUM(e, text, stat, rejected) e,
  RTMPGATE_CLOSE_REASONS(RTMPGATE_CLOSE_ENUM)
#undef RTMPGATE_CLOSE_ENUM
};

std::string_view closeReasonName(CloseReason r);
std::optional<Stat> closeReasonStat(CloseReason r);
// True for the ways a client is refused (access, limits, a failed handshake);
// these end as "rejected" events, the rest as "closed".
bool closeReasonIsRejection(CloseReason r);

}  // namespace rtmpgate::proxy
