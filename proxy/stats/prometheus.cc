#include "proxy/stats/prometheus.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <string_view>

#include "proxy/core/runtime.h"

namespace rtmpgate::proxy {

namespace {

// Counters that are one family split by a label: the stat name is
// <family>_<value>, exported as rtmpgate_<family>_total{<label>="<value>"}.
struct Family {
  std::string_view prefix;
  std::string_view label;
};
constexpr Family kFamilies[] = {
    {"handshakes_failed_", "reason"},
    {"connections_denied_", "reason"},
};

void line(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void line(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  out.append(buf, n < 0 ? 0 : std::min<size_t>(n, sizeof(buf) - 1));
}

std::string escapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string renderPrometheus(Runtime& runtime) {
  std::string out;
  out.reserve(8192);
  const StatsSnapshot snap = runtime.stats();
  std::string_view last_family;
  for (size_t i = 0; i < kStatCount; ++i) {
    const Stat s = static_cast<Stat>(i);
    const std::string_view name = statName(s);
    const bool gauge = statIsGauge(s);
    const Family* fam = nullptr;
    for (const Family& f : kFamilies) {
      if (name.substr(0, f.prefix.size()) == f.prefix) fam = &f;
    }
    if (fam) {
      std::string_view family = fam->prefix.substr(0, fam->prefix.size() - 1);
      if (family != last_family) {
        line(out, "# TYPE rtmpgate_%.*s_total counter\n", static_cast<int>(family.size()),
             family.data());
        last_family = family;
      }
      std::string_view value = name.substr(fam->prefix.size());
      line(out, "rtmpgate_%.*s_total{%.*s=\"%.*s\"} %" PRIu64 "\n",
           static_cast<int>(family.size()), family.data(), static_cast<int>(fam->label.size()),
           fam->label.data(), static_cast<int>(value.size()), value.data(), snap[s]);
      continue;
    }
    last_family = {};
    line(out, "# TYPE rtmpgate_%.*s%s %s\n", static_cast<int>(name.size()), name.data(),
         gauge ? "" : "_total", gauge ? "gauge" : "counter");
    line(out, "rtmpgate_%.*s%s %" PRIu64 "\n", static_cast<int>(name.size()), name.data(),
         gauge ? "" : "_total", snap[s]);
  }

  line(out, "# TYPE rtmpgate_handshake_duration_seconds histogram\n");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBucketBoundsUs.size(); ++i) {
    cumulative += snap.buckets[i];
    line(out, "rtmpgate_handshake_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
         kBucketBoundsUs[i] / 1e6, cumulative);
  }
  cumulative += snap.buckets[kBucketCount - 1];
  line(out, "rtmpgate_handshake_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cumulative);
  line(out, "rtmpgate_handshake_duration_seconds_sum %.6f\n", snap.handshake_us_sum / 1e6);
  line(out, "rtmpgate_handshake_duration_seconds_count %" PRIu64 "\n", cumulative);

  auto lp = runtime.policy();
  line(out, "# TYPE rtmpgate_policy_revision gauge\nrtmpgate_policy_revision %" PRIu64 "\n",
       lp->revision);
  line(out, "# TYPE rtmpgate_uptime_seconds gauge\nrtmpgate_uptime_seconds %.3f\n",
       runtime.uptimeSeconds());
  const auto& backends = lp->policy.upstream.backends;
  struct BackendFigure {
    const char* name;
    const char* type;
  };
  const BackendFigure figures[] = {
      {"backend_active_sessions", "gauge"},
      {"backend_sessions_total", "counter"},
      {"backend_connect_failures_total", "counter"},
      {"backend_handshake_failures_total", "counter"},
      {"backend_up", "gauge"},
  };
  for (size_t f = 0; f < std::size(figures); ++f) {
    line(out, "# TYPE rtmpgate_%s %s\n", figures[f].name, figures[f].type);
    for (size_t b = 0; b < backends.size(); ++b) {
      const BackendStats& bs = *lp->backend_stats[b];
      int64_t v = 0;
      switch (f) {
        case 0:
          v = bs.active.load(std::memory_order_relaxed);
          break;
        case 1:
          v = static_cast<int64_t>(bs.sessions.load(std::memory_order_relaxed));
          break;
        case 2:
          v = static_cast<int64_t>(bs.connect_failures.load(std::memory_order_relaxed));
          break;
        case 3:
          v = static_cast<int64_t>(bs.handshake_failures.load(std::memory_order_relaxed));
          break;
        case 4:
          // 1 up, 0 failing, -1 not tried yet.
          v = bs.state.load(std::memory_order_relaxed) == BackendStats::kUp        ? 1
              : bs.state.load(std::memory_order_relaxed) == BackendStats::kFailing ? 0
                                                                                  : -1;
          break;
      }
      line(out, "rtmpgate_%s{backend=\"%s\"} %" PRId64 "\n", figures[f].name,
           escapeLabel(backends[b].name).c_str(), v);
    }
  }
  return out;
}

}  // namespace rtmpgate::proxy
