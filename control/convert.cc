#include "control/convert.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "proxy/config/loader.h"
#include "proxy/config/reader.h"
#include "proxy/stats/stats.h"

namespace rtmpgate::control {

using proxy::Stat;

v1::Stats statsToProto(proxy::Runtime& runtime) {
  v1::Stats out;
  const proxy::StatsSnapshot snap = runtime.stats();
  const auto* desc = out.GetDescriptor();
  const auto* refl = out.GetReflection();
  for (size_t i = 0; i < proxy::kStatCount; ++i) {
    const Stat s = static_cast<Stat>(i);
    const auto* field = desc->FindFieldByName(std::string(proxy::statName(s)));
    if (field == nullptr) std::abort();  // control_test keeps the lists in step
    refl->SetUInt64(&out, field, snap[s]);
  }
  out.set_uptime_seconds(runtime.uptimeSeconds());
  auto lp = runtime.policy();
  out.set_policy_revision(lp->revision);
  out.set_handshake_p50_us(snap.handshakePercentileUs(50));
  out.set_handshake_p90_us(snap.handshakePercentileUs(90));
  out.set_handshake_p99_us(snap.handshakePercentileUs(99));
  const auto& backends = lp->policy.upstream.backends;
  for (size_t i = 0; i < backends.size(); ++i) {
    const proxy::BackendStats& bs = *lp->backend_stats[i];
    auto* b = out.add_backends();
    b->set_address(backends[i].name);
    b->set_weight(backends[i].weight);
    switch (bs.state.load(std::memory_order_relaxed)) {
      case proxy::BackendStats::kUp:
        b->set_state("up");
        break;
      case proxy::BackendStats::kFailing:
        b->set_state("failing");
        break;
      default:
        b->set_state("unknown");
    }
    b->set_active_sessions(bs.active.load(std::memory_order_relaxed));
    b->set_sessions_total(bs.sessions.load(std::memory_order_relaxed));
    b->set_connect_failures(bs.connect_failures.load(std::memory_order_relaxed));
    b->set_handshake_failures(bs.handshake_failures.load(std::memory_order_relaxed));
  }
  return out;
}

namespace {

std::string durationText(proxy::Millis d) { return std::to_string(d.count()) + "ms"; }

const char* modeName(rtmp::HandshakeMode m) {
  switch (m) {
    case rtmp::HandshakeMode::kAuto:
      return "auto";
    case rtmp::HandshakeMode::kSimple:
      return "simple";
    case rtmp::HandshakeMode::kDigest:
      return "digest";
  }
  return "auto";
}

const char* echoName(rtmp::EchoCheck e) {
  switch (e) {
    case rtmp::EchoCheck::kStrict:
      return "strict";
    case rtmp::EchoCheck::kReport:
      return "report";
    case rtmp::EchoCheck::kOff:
      return "off";
  }
  return "strict";
}

const char* strategyName(proxy::Strategy s) {
  switch (s) {
    case proxy::Strategy::kRoundRobin:
      return "round_robin";
    case proxy::Strategy::kLeastConn:
      return "least_conn";
    case proxy::Strategy::kHashClientIp:
      return "hash_client_ip";
  }
  return "round_robin";
}

// The proto policy as the YAML blocks the modules parse. Only fields the
// message carries are written, so absent fields take the modules' defaults.
YAML::Node toYaml(const v1::Policy& p) {
  YAML::Node root(YAML::NodeType::Map);
  if (p.has_handshake()) {
    const auto& h = p.handshake();
    YAML::Node n(YAML::NodeType::Map);
    if (h.versions_size() > 0) {
      for (uint32_t v : h.versions()) n["versions"].push_back(std::to_string(v));
    }
    if (h.has_mode()) n["mode"] = h.mode();
    if (h.has_echo_check()) n["echo_check"] = h.echo_check();
    if (h.has_timeout()) n["timeout"] = h.timeout();
    root["handshake"] = n;
  }
  if (p.has_limits()) {
    const auto& l = p.limits();
    YAML::Node n(YAML::NodeType::Map);
    if (l.has_max_connections()) n["max_connections"] = std::to_string(l.max_connections());
    if (l.has_max_connections_per_ip()) {
      n["max_connections_per_ip"] = std::to_string(l.max_connections_per_ip());
    }
    root["limits"] = n;
  }
  if (p.has_access()) {
    const auto& a = p.access();
    YAML::Node n(YAML::NodeType::Map);
    n["allow"] = YAML::Node(YAML::NodeType::Sequence);
    n["deny"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& c : a.allow()) n["allow"].push_back(c);
    for (const auto& c : a.deny()) n["deny"].push_back(c);
    root["access"] = n;
  }
  if (p.has_upstream()) {
    const auto& u = p.upstream();
    YAML::Node n(YAML::NodeType::Map);
    if (u.has_strategy()) n["strategy"] = u.strategy();
    if (u.has_connect_timeout()) n["connect_timeout"] = u.connect_timeout();
    if (u.has_max_tries()) n["max_tries"] = std::to_string(u.max_tries());
    if (u.has_handshake()) n["handshake"] = u.handshake();
    n["backends"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& b : u.backends()) {
      YAML::Node e(YAML::NodeType::Map);
      e["address"] = b.address();
      if (b.has_weight()) e["weight"] = std::to_string(b.weight());
      n["backends"].push_back(e);
    }
    root["upstream"] = n;
  }
  return root;
}

}  // namespace

v1::Policy policyToProto(const proxy::Policy& p, uint64_t revision) {
  v1::Policy out;
  out.set_revision(revision);
  auto* h = out.mutable_handshake();
  for (uint8_t v : p.handshake.versions) h->add_versions(v);
  h->set_mode(modeName(p.handshake.mode));
  h->set_echo_check(echoName(p.handshake.echo_check));
  h->set_timeout(durationText(p.handshake.timeout));
  auto* l = out.mutable_limits();
  l->set_max_connections(p.limits.max_connections);
  l->set_max_connections_per_ip(p.limits.max_connections_per_ip);
  auto* a = out.mutable_access();
  for (const auto& c : p.access.allow) a->add_allow(c.text);
  for (const auto& c : p.access.deny) a->add_deny(c.text);
  auto* u = out.mutable_upstream();
  u->set_strategy(strategyName(p.upstream.strategy));
  u->set_connect_timeout(durationText(p.upstream.connect_timeout));
  u->set_max_tries(p.upstream.max_tries);
  u->set_handshake(p.upstream.handshake == rtmp::ClientMode::kDigest ? "digest" : "simple");
  for (const auto& b : p.upstream.backends) {
    auto* e = u->add_backends();
    e->set_address(b.name);
    e->set_weight(b.weight);
  }
  return out;
}

std::optional<proxy::Policy> policyFromProto(const v1::Policy& update,
                                             const proxy::Policy& current, std::string* error) {
  v1::Policy merged = policyToProto(current, 0);
  if (update.has_handshake()) *merged.mutable_handshake() = update.handshake();
  if (update.has_limits()) *merged.mutable_limits() = update.limits();
  if (update.has_access()) *merged.mutable_access() = update.access();
  if (update.has_upstream()) *merged.mutable_upstream() = update.upstream();
  proxy::ConfigReader reader("policy");
  proxy::Policy out;
  if (!proxy::parsePolicy(toYaml(merged), reader, &out)) {
    std::string all;
    for (const auto& e : reader.errors()) all += (all.empty() ? "" : "; ") + e;
    *error = all;
    return std::nullopt;
  }
  return out;
}

v1::Event eventToProto(const proxy::SessionEvent& e) {
  v1::Event out;
  out.set_time_ms(e.time_ms);
  out.set_kind(std::string(proxy::eventKindName(e.kind)));
  out.set_session_id(e.session_id);
  out.set_client(e.client);
  out.set_backend(e.backend);
  out.set_reason(e.reason);
  out.set_detail(e.detail);
  out.set_bytes_client_to_backend(e.bytes_client_to_backend);
  out.set_bytes_backend_to_client(e.bytes_backend_to_client);
  out.set_duration_ms(e.duration_ms);
  return out;
}

}  // namespace rtmpgate::control
