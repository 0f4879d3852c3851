#include "proxy/session/close_reason.h"

namespace rtmpgate::proxy {

namespace {
struct ReasonInfo {
  std::string_view name;
  std::optional<Stat> stat;
};
const ReasonInfo kReasons[] = {
#define RTMPGATE_CLOSE_INFO(e, text, stat) {text, stat},
    RTMPGATE_CLOSE_REASONS(RTMPGATE_CLOSE_INFO)
#undef RTMPGATE_CLOSE_INFO
};
}  // namespace

std::string_view closeReasonName(CloseReason r) { return kReasons[static_cast<size_t>(r)].name; }
std::optional<Stat> closeReasonStat(CloseReason r) {
  return kReasons[static_cast<size_t>(r)].stat;
}

}  // namespace rtmpgate::proxy
