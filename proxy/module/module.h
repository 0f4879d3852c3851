// The request path as a chain of modules, after nginx's phase handlers and
// Envoy's network filters.
//
// A session walks the modules in list order (proxy/module/registry.cc). When
// the session reaches a module, run() is called; it answers:
//   Continue        go on to the next module now;
//   Stop            the module keeps the session and resumes it later by
//                   returning Continue (or Close) from one of its event hooks;
//   Close(reason)   end the session; the reason is logged, evented, counted.
// Event hooks are only delivered to the module that currently holds the
// session. onClose() runs, in list order, for every module the session
// reached, exactly once, when the session ends (the LOG phase).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/session/close_reason.h"

namespace rtmpgate::proxy {

class ConfigReader;
class Session;
class Worker;

enum class Phase : uint8_t { kAccess, kHandshake, kUpstream, kForward, kLog };
std::string_view phaseName(Phase p);

class Status {
 public:
  enum class Kind : uint8_t { kContinue, kStop, kClose };
  static Status Continue() { return Status(Kind::kContinue, CloseReason::kNone); }
  static Status Stop() { return Status(Kind::kStop, CloseReason::kNone); }
  static Status Close(CloseReason r) { return Status(Kind::kClose, r); }
  Kind kind() const { return kind_; }
  CloseReason reason() const { return reason_; }

 private:
  Status(Kind k, CloseReason r) : kind_(k), reason_(r) {}
  Kind kind_;
  CloseReason reason_;
};

class Module {
 public:
  virtual ~Module() = default;

  virtual Status run(Session& s) = 0;

  // err is 0 with data, or a libuv error (UV_EOF on orderly close).
  virtual Status onClientRead(Session& s, std::span<const uint8_t> data, int err) {
    return Status::Stop();
  }
  virtual Status onUpstreamConnect(Session& s, int status) { return Status::Stop(); }
  virtual Status onUpstreamRead(Session& s, std::span<const uint8_t> data, int err) {
    return Status::Stop();
  }
  virtual Status onTimeout(Session& s) { return Status::Stop(); }
  virtual void onClose(Session& s) {}

  // Slot for this module's per-session context (Session::ctx).
  size_t index() const { return index_; }
  void setIndex(size_t i) { index_ = i; }

 private:
  size_t index_ = 0;
};

// Per-session state a module keeps between hooks; freed when the module
// resets it or the session ends.
class ModuleCtx {
 public:
  virtual ~ModuleCtx() = default;
};

// How a module plugs in: its place, the YAML block it owns, and a factory
// (one instance per worker).
struct ModuleDef {
  std::string_view name;
  Phase phase;
  std::string_view config_key;  // top-level YAML key, or empty
  // Reads the module's block into the policy; reports errors via the reader.
  void (*parse)(const YAML::Node& block, ConfigReader& reader, Policy& policy);
  std::unique_ptr<Module> (*create)(Worker& worker);
};

}  // namespace rtmpgate::proxy
