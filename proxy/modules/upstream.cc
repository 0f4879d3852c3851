// UPSTREAM: choose a backend, connect, and do the client side of the RTMP
// handshake with it; on a refused, timed-out or failed try, go on to the next
// backend (never the same one twice) up to max_tries. connect_timeout bounds
// each try: TCP connect and backend handshake together.
#include <cinttypes>

#include "proxy/config/reader.h"
#include "proxy/core/events.h"
#include "proxy/core/log.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/module/module.h"
#include "proxy/rtmp/handshake.h"
#include "proxy/session/session.h"
#include "proxy/upstream/balancer.h"

namespace rtmpgate::proxy {
namespace {

constexpr size_t kMaxPendingWhileConnecting = 64 * 1024;

struct UpstreamCtx final : ModuleCtx {
  uint64_t tried = 0;  // bit per backend index
  uint32_t tries = 0;
  uint64_t rr_cursor = 0;
  int current = -1;
  bool connected = false;
  std::unique_ptr<rtmp::ClientHandshake> codec;
};

class UpstreamModule final : public Module {
 public:
  Status run(Session& s) override {
    s.setCtx(*this, std::make_unique<UpstreamCtx>());
    return tryNext(s);
  }

  Status onUpstreamConnect(Session& s, int status) override {
    auto* ctx = s.ctx<UpstreamCtx>(*this);
    if (status != 0) return failTry(s, Stat::upstream_connect_failures, uv_strerror(status));
    ctx->connected = true;
    ctx->codec = std::make_unique<rtmp::ClientHandshake>(
        s.worker().nowMs(), s.worker().random(), s.policy().policy.upstream.handshake);
    s.send(Session::Side::kUpstream, ctx->codec->hello());
    if (s.closing()) return Status::Stop();
    s.startUpstreamRead();
    return Status::Stop();
  }

  Status onUpstreamRead(Session& s, std::span<const uint8_t> in, int err) override {
    auto* ctx = s.ctx<UpstreamCtx>(*this);
    if (err != 0) return failTry(s, Stat::upstream_handshake_failures, "closed during handshake");
    rtmp::FeedResult r = ctx->codec->feed(in);
    switch (r.step) {
      case rtmp::Step::kNeedMore:
      case rtmp::Step::kReply:
        return Status::Stop();
      case rtmp::Step::kFailed: {
        char why[64];
        snprintf(why, sizeof(why), "bad S0 version 0x%02x", ctx->codec->serverVersion());
        return failTry(s, Stat::upstream_handshake_failures, why);
      }
      case rtmp::Step::kDone:
        break;
    }
    in = in.subspan(r.consumed);
    s.pendingForClient().assign(reinterpret_cast<const char*>(in.data()), in.size());
    s.sendWithPending(ctx->codec->c2());
    s.disarmTimer();
    s.setBackend(ctx->current);
    auto& bs = *s.policy().backend_stats[ctx->current];
    bs.active.fetch_add(1, std::memory_order_relaxed);
    bs.sessions.fetch_add(1, std::memory_order_relaxed);
    bs.state.store(BackendStats::kUp, std::memory_order_relaxed);
    s.setCtx(*this, nullptr);
    return Status::Continue();
  }

  // The client may send more (or hang up) while the backend is set up.
  Status onClientRead(Session& s, std::span<const uint8_t> in, int err) override {
    std::string& pending = s.pendingForUpstream();
    if (err == UV_EOF && !pending.empty()) {
      // Data then FIN (a client that sends connect and half-closes): the
      // data must still reach the backend, and the FIN after it.
      s.noteClientEof();
      return Status::Stop();
    }
    // Nothing to deliver: a hang-up (or reset) ends the session now rather
    // than after the backend answers.
    if (err != 0) return Status::Close(CloseReason::kClientClosed);
    pending.append(reinterpret_cast<const char*>(in.data()), in.size());
    // Clients wait for the answer to connect, so this is normally one small
    // command; hold at most 64 KiB and let TCP push back on the rest until
    // the splice reads again.
    if (pending.size() >= kMaxPendingWhileConnecting) s.stopClientRead();
    return Status::Stop();
  }

  Status onTimeout(Session& s) override {
    auto* ctx = s.ctx<UpstreamCtx>(*this);
    return ctx->connected ? failTry(s, Stat::upstream_handshake_failures, "handshake timed out")
                          : failTry(s, Stat::upstream_connect_failures, "connect timed out");
  }

  void onClose(Session& s) override {
    if (s.backend() >= 0) {
      s.policy().backend_stats[s.backend()]->active.fetch_sub(1, std::memory_order_relaxed);
    }
  }

 private:
  Status tryNext(Session& s) {
    auto* ctx = s.ctx<UpstreamCtx>(*this);
    const UpstreamConfig& u = s.policy().policy.upstream;
    while (ctx->tries < u.max_tries) {
      int i = pickBackend(s.policy(), s.clientIp(), ctx->tried, &ctx->rr_cursor);
      if (i < 0) break;
      ctx->tried |= uint64_t{1} << i;
      ++ctx->tries;
      ctx->current = i;
      ctx->connected = false;
      ctx->codec.reset();
      int rc = s.connectUpstream(u.backends[i].address);
      if (rc != 0) {
        countFailure(s, Stat::upstream_connect_failures, uv_strerror(rc));
        continue;
      }
      s.armTimer(static_cast<uint64_t>(u.connect_timeout.count()));
      return Status::Stop();
    }
    s.dropUpstream();
    logWarn("session %" PRIu64 " client=%s: no backend available after %u tries", s.id(),
            s.clientAddress().toString().c_str(), ctx->tries);
    return Status::Close(CloseReason::kNoBackend);
  }

  void countFailure(Session& s, Stat stat, const char* why) {
    auto* ctx = s.ctx<UpstreamCtx>(*this);
    s.worker().stats().add(stat);
    auto& bs = *s.policy().backend_stats[ctx->current];
    const bool connect = stat == Stat::upstream_connect_failures;
    (connect ? bs.connect_failures : bs.handshake_failures).fetch_add(1, std::memory_order_relaxed);
    bs.state.store(BackendStats::kFailing, std::memory_order_relaxed);
    const std::string& backend = s.policy().policy.upstream.backends[ctx->current].name;
    logWarn("session %" PRIu64 " backend=%s: %s: %s", s.id(), backend.c_str(),
            connect ? "connect failed" : "handshake failed", why);
    if (EventBus& bus = s.worker().runtime().events(); bus.active()) {
      bus.publish({.kind = SessionEvent::Kind::kUpstreamFailure,
                   .time_ms = unixTimeMs(),
                   .session_id = s.id(),
                   .client = s.clientAddress().toString(),
                   .backend = backend,
                   .reason = connect ? "connect_failed" : "handshake_failed",
                   .detail = why});
    }
  }

  Status failTry(Session& s, Stat stat, const char* why) {
    countFailure(s, stat, why);
    s.disarmTimer();
    return tryNext(s);
  }
};

void parse(const YAML::Node& n, ConfigReader& r, Policy& p) {
  if (!r.checkMap(n, "upstream",
                  {"strategy", "connect_timeout", "max_tries", "handshake", "backends"})) {
    return;
  }
  UpstreamConfig& u = p.upstream;
  if (n["strategy"]) {
    if (auto m = r.readEnum(n["strategy"], "upstream.strategy",
                            {"round_robin", "least_conn", "hash_client_ip"})) {
      u.strategy = static_cast<Strategy>(*m);
    }
  }
  if (n["connect_timeout"]) {
    if (auto d = r.readDuration(n["connect_timeout"], "upstream.connect_timeout")) {
      if (d->count() == 0) {
        r.error(n["connect_timeout"], "upstream.connect_timeout must be more than 0");
      } else {
        u.connect_timeout = *d;
      }
    }
  }
  if (n["max_tries"]) {
    if (auto v = r.readUint(n["max_tries"], "upstream.max_tries", 1, kMaxBackends)) {
      u.max_tries = static_cast<uint32_t>(*v);
    }
  }
  if (n["handshake"]) {
    if (auto m = r.readEnum(n["handshake"], "upstream.handshake", {"simple", "digest"})) {
      u.handshake = static_cast<rtmp::ClientMode>(*m);
    }
  }
  const YAML::Node b = n["backends"];
  if (!b) return;
  if (!b.IsSequence()) {
    r.error(b, "upstream.backends must be a list");
    return;
  }
  if (b.size() > kMaxBackends) {
    r.error(b, "upstream.backends: at most " + std::to_string(kMaxBackends) + " backends");
    return;
  }
  u.backends.clear();
  for (const auto& item : b) {
    if (!r.checkMap(item, "upstream.backends entry", {"address", "weight"})) continue;
    BackendConfig bc;
    if (!item["address"]) {
      r.error(item, "upstream.backends entry needs an address");
      continue;
    }
    auto addr = r.readAddress(item["address"], "upstream.backends address");
    if (!addr) continue;
    if (addr->port() == 0) {
      r.error(item["address"], "upstream.backends address needs a port other than 0");
      continue;
    }
    bc.address = *addr;
    bc.name = item["address"].Scalar();
    if (item["weight"]) {
      auto w = r.readUint(item["weight"], "upstream.backends weight", 1, 1000);
      if (!w) continue;
      bc.weight = static_cast<uint32_t>(*w);
    }
    u.backends.push_back(std::move(bc));
  }
}

}  // namespace

extern const ModuleDef kUpstreamModule = {
    "upstream", Phase::kUpstream, "upstream", &parse,
    [](Worker&) -> std::unique_ptr<Module> { return std::make_unique<UpstreamModule>(); }};

}  // namespace rtmpgate::proxy
