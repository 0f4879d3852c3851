// HANDSHAKE: the server side of the RTMP handshake toward the client, under
// one total deadline. Bytes the client pipelines after C2 are kept for the
// backend.
#include <cinttypes>

#include "proxy/config/reader.h"
#include "proxy/core/events.h"
#include "proxy/core/log.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/module/module.h"
#include "proxy/rtmp/handshake.h"
#include "proxy/session/session.h"

namespace rtmpgate::proxy {
namespace {

struct HandshakeCtx final : ModuleCtx {
  HandshakeCtx(const rtmp::ServerOptions& o, uint32_t now, rtmp::FastRandom& r)
      : codec(o, now, r) {}
  rtmp::ServerHandshake codec;
};

CloseReason reasonFor(rtmp::HandshakeError e) {
  switch (e) {
    case rtmp::HandshakeError::kBadVersion:
      return CloseReason::kBadVersion;
    case rtmp::HandshakeError::kEchoMismatch:
      return CloseReason::kEchoMismatch;
    case rtmp::HandshakeError::kDigestInvalid:
      return CloseReason::kDigestInvalid;
    case rtmp::HandshakeError::kNone:
      break;
  }
  return CloseReason::kClientError;
}

class HandshakeModule final : public Module {
 public:
  Status run(Session& s) override {
    Worker& w = s.worker();
    s.setCtx(*this, std::make_unique<HandshakeCtx>(s.policy().server_options, w.nowMs(),
                                                   w.random()));
    w.stats().add(Stat::handshakes_in_progress);
    s.armTimer(static_cast<uint64_t>(s.policy().policy.handshake.timeout.count()));
    s.startClientRead();
    return Status::Stop();
  }

  Status onClientRead(Session& s, std::span<const uint8_t> in, int err) override {
    if (err != 0) return Status::Close(CloseReason::kClientClosedHandshake);
    auto* ctx = s.ctx<HandshakeCtx>(*this);
    const uint32_t now = s.worker().nowMs();
    while (true) {
      rtmp::FeedResult r = ctx->codec.feed(in, now);
      in = in.subspan(r.consumed);
      switch (r.step) {
        case rtmp::Step::kNeedMore:
          return Status::Stop();
        case rtmp::Step::kReply:
          s.send(Session::Side::kClient, ctx->codec.output());
          break;
        case rtmp::Step::kDone:
          s.pendingForUpstream().assign(reinterpret_cast<const char*>(in.data()), in.size());
          return finish(s, *ctx);
        case rtmp::Step::kFailed:
          return fail(s, *ctx);
      }
    }
  }

  Status onTimeout(Session& s) override { return Status::Close(CloseReason::kHandshakeTimeout); }

  void onClose(Session& s) override {
    if (s.ctx<HandshakeCtx>(*this)) s.worker().stats().add(Stat::handshakes_in_progress, -1);
  }

 private:
  Status finish(Session& s, HandshakeCtx& ctx) {
    Worker& w = s.worker();
    // The client keeps being read while the backend is set up (the upstream
    // module collects what arrives): no epoll churn, and an early hang-up is
    // seen at once.
    s.disarmTimer();
    w.stats().add(Stat::handshakes_completed);
    const bool digest = ctx.codec.negotiatedMode() == rtmp::HandshakeMode::kDigest;
    w.stats().add(digest ? Stat::handshakes_digest : Stat::handshakes_simple);
    s.setHandshakeMode(digest ? "digest" : "simple");
    if (ctx.codec.echoMismatchAllowed()) {
      w.stats().add(Stat::echo_mismatches_allowed);
      logInfo("session %" PRIu64 " client=%s: C2 does not echo S1 (echo_check: report)", s.id(),
              s.clientAddress().toString().c_str());
    }
    if (EventBus& bus = w.runtime().events(); bus.active()) {
      bus.publish({.kind = SessionEvent::Kind::kAccepted,
                   .time_ms = unixTimeMs(),
                   .session_id = s.id(),
                   .client = s.clientAddress().toString()});
    }
    uint64_t us = (uv_hrtime() - s.acceptedAtNs()) / 1000;
    w.stats().recordHandshakeUs(us);
    w.stats().add(Stat::handshakes_in_progress, -1);
    s.setCtx(*this, nullptr);  // frees the 3 KiB of handshake state
    return Status::Continue();
  }

  Status fail(Session& s, HandshakeCtx& ctx) {
    if (ctx.codec.error() == rtmp::HandshakeError::kBadVersion) {
      uint8_t v = ctx.codec.clientVersion();
      s.setCloseDetail(rtmp::describeBadVersion(v));
      logInfo("session %" PRIu64 " client=%s: refused version 0x%02x (likely %s)", s.id(),
              s.clientAddress().toString().c_str(), v,
              std::string(rtmp::describeBadVersion(v)).c_str());
    }
    return Status::Close(reasonFor(ctx.codec.error()));
  }
};

void parse(const YAML::Node& n, ConfigReader& r, Policy& p) {
  if (!r.checkMap(n, "handshake", {"versions", "mode", "echo_check", "timeout"})) return;
  HandshakeConfig& h = p.handshake;
  if (const YAML::Node v = n["versions"]) {
    if (!v.IsSequence() || v.size() == 0) {
      r.error(v, "handshake.versions must be a non-empty list of numbers 0..255");
    } else {
      h.versions.clear();
      for (const auto& item : v) {
        if (auto x = r.readUint(item, "handshake.versions entry", 0, 255)) {
          h.versions.push_back(static_cast<uint8_t>(*x));
        }
      }
    }
  }
  if (n["mode"]) {
    if (auto m = r.readEnum(n["mode"], "handshake.mode", {"auto", "simple", "digest"})) {
      h.mode = static_cast<rtmp::HandshakeMode>(*m);
    }
  }
  if (n["echo_check"]) {
    if (auto m = r.readEnum(n["echo_check"], "handshake.echo_check", {"strict", "report", "off"})) {
      h.echo_check = static_cast<rtmp::EchoCheck>(*m);
    }
  }
  if (n["timeout"]) {
    if (auto d = r.readDuration(n["timeout"], "handshake.timeout")) {
      if (d->count() == 0) {
        r.error(n["timeout"], "handshake.timeout must be more than 0");
      } else {
        h.timeout = *d;
      }
    }
  }
}

}  // namespace

extern const ModuleDef kHandshakeModule = {
    "handshake", Phase::kHandshake, "handshake", &parse,
    [](Worker&) -> std::unique_ptr<Module> { return std::make_unique<HandshakeModule>(); }};

}  // namespace rtmpgate::proxy
