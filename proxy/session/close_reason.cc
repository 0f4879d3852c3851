#include "proxy/session/close_reason.h"

namespace rtmpgate::proxy {

namespace {
struct ReasonInfo {
  std::string_view name;
  std::optional<Stat> stat;
  bool rejection;
};
const ReasonInfo kReasons[] = {
#define RTMPGATE_CLOSE_INFO(e, text, stat, rejected) {text, stat, rejected},
    RTMPGATE_CLOSE_REASONS(RTMPGATE_CLOSE_INFO)
#undef RTMPGATE_CLOSE_INFO
};
}  // namespace

std::string_view closeReasonName(CloseReason r) { return kReasons[static_cast<size_t>(r)].name; }
std::optional<Stat> closeReasonStat(CloseReason r) {
  return kReasons[static_cast<size_t>(r)].stat;
}

bool closeReasonIsRejection(CloseReason r) { return kReasons[static_cast<size_t>(r)].rejection; }

}  // namespace rtmpgate::proxy
