#include "proxy/config/loader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "proxy/config/reader.h"
#include "proxy/module/registry.h"

namespace rtmpgate::proxy {

namespace {

// Keys the core owns; every other top-level key belongs to a module.
constexpr std::string_view kCoreKeys[] = {"workers", "listen",  "control",     "shutdown_timeout",
                                          "log",     "metrics", "watch_config"};

void parseControl(const YAML::Node& ctl, ConfigReader& r, ControlConfig& c) {
  if (!r.checkMap(ctl, "control", {"listen", "auth_token_file", "state_file", "tls"})) return;
  if (ctl["listen"]) {
    if (auto s = r.readString(ctl["listen"], "control.listen")) {
      std::string why;
      if (!s->empty() && s->rfind("unix:", 0) != 0 && !parseSocketAddress(*s, &why)) {
        r.error(ctl["listen"], "control.listen '" + *s + "': " + why + " (or unix:PATH)");
      }
      c.listen = *s;
    }
  }
  if (ctl["auth_token_file"]) {
    if (auto s = r.readString(ctl["auth_token_file"], "control.auth_token_file")) {
      c.auth_token_file = *s;
    }
  }
  if (ctl["state_file"]) {
    if (auto s = r.readString(ctl["state_file"], "control.state_file")) c.state_file = *s;
  }
  if (const YAML::Node tls = ctl["tls"]) {
    if (!r.checkMap(tls, "control.tls", {"cert_file", "key_file", "client_ca_file"})) return;
    if (tls["cert_file"]) c.tls_cert_file = r.readString(tls["cert_file"], "control.tls.cert_file").value_or("");
    if (tls["key_file"]) c.tls_key_file = r.readString(tls["key_file"], "control.tls.key_file").value_or("");
    if (tls["client_ca_file"]) {
      c.tls_client_ca_file =
          r.readString(tls["client_ca_file"], "control.tls.client_ca_file").value_or("");
    }
    if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
      r.error(tls, "control.tls needs both cert_file and key_file");
    }
    if (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty()) {
      r.error(tls, "control.tls.client_ca_file needs cert_file and key_file");
    }
  }
}

void parseCore(const YAML::Node& root, ConfigReader& r, Config& c) {
  if (const YAML::Node w = root["workers"]) {
    if (w.IsScalar() && w.Scalar() == "auto") {
      c.workers = 0;
    } else if (auto n = r.readUint(w, "workers (or auto)", 1, 256)) {
      c.workers = static_cast<unsigned>(*n);
    }
  }
  if (const YAML::Node l = root["listen"]) {
    if (!l.IsSequence() || l.size() == 0) {
      r.error(l, "listen must be a non-empty list of {address: host:port}");
    } else {
      for (const auto& item : l) {
        if (!r.checkMap(item, "listen entry", {"address"})) continue;
        if (!item["address"]) {
          r.error(item, "listen entry needs an address");
          continue;
        }
        if (auto a = r.readAddress(item["address"], "listen address")) {
          c.listen.push_back({*a, item["address"].Scalar()});
        }
      }
    }
  } else {
    r.error(YAML::Node(), "'listen' is required (at least one address)");
  }
  if (const YAML::Node ctl = root["control"]) parseControl(ctl, r, c.control);
  if (const YAML::Node d = root["shutdown_timeout"]) {
    if (auto v = r.readDuration(d, "shutdown_timeout")) c.shutdown_timeout = *v;
  }
  if (const YAML::Node lg = root["log"]; lg && r.checkMap(lg, "log", {"level", "format", "access_log"})) {
    if (lg["level"]) {
      if (auto v = r.readEnum(lg["level"], "log.level", {"debug", "info", "warn", "error"})) {
        c.log.level = static_cast<LogLevel>(*v);
      }
    }
    if (lg["format"]) {
      if (auto v = r.readEnum(lg["format"], "log.format", {"text", "json"})) c.log.json = *v == 1;
    }
    if (lg["access_log"]) {
      if (auto v = r.readString(lg["access_log"], "log.access_log")) {
        if (v->empty()) {
          r.error(lg["access_log"], "log.access_log must be stderr, off or a file path");
        } else {
          c.log.access_log = *v;
        }
      }
    }
  }
  if (const YAML::Node m = root["metrics"]; m && r.checkMap(m, "metrics", {"listen"})) {
    if (m["listen"]) {
      if (auto a = r.readString(m["listen"], "metrics.listen")) {
        std::string why;
        if (!a->empty() && !parseSocketAddress(*a, &why)) {
          r.error(m["listen"], "metrics.listen '" + *a + "': " + why);
        }
        c.metrics.listen = *a;
      }
    }
  }
  if (const YAML::Node w = root["watch_config"]) {
    if (auto v = r.readEnum(w, "watch_config", {"false", "true"})) c.watch_config = *v == 1;
  }
}

LoadResult parseDocument(const YAML::Node& root, const std::string& name) {
  ConfigReader r(name);
  Config c;
  if (!root.IsMap()) {
    r.error(root, "the config must be a mapping of top-level keys");
    return {std::nullopt, r.errors()};
  }
  std::vector<std::string_view> top(std::begin(kCoreKeys), std::end(kCoreKeys));
  for (const ModuleDef* m : allModules()) {
    if (!m->config_key.empty()) top.push_back(m->config_key);
  }
  std::vector<std::string> seen;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (std::find(top.begin(), top.end(), key) == top.end()) {
      r.error(kv.first, "unknown top-level key '" + key + "'");
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      r.error(kv.first, "top-level key '" + key + "' appears twice");
    }
    seen.push_back(key);
  }
  parseCore(root, r, c);
  parsePolicy(root, r, &c.policy);
  if (!r.ok()) return {std::nullopt, r.errors()};
  return {std::move(c), {}};
}

}  // namespace

bool parsePolicy(const YAML::Node& root, ConfigReader& r, Policy* out) {
  Policy p;
  size_t errors_before = r.errors().size();
  for (const ModuleDef* m : allModules()) {
    if (m->config_key.empty() || !m->parse) continue;
    if (const YAML::Node block = root[std::string(m->config_key)]) m->parse(block, r, p);
  }
  if (r.errors().size() == errors_before && p.upstream.backends.empty()) {
    r.error(root["upstream"], "upstream.backends must name at least one backend");
  }
  if (r.errors().size() != errors_before) return false;
  *out = std::move(p);
  return true;
}

LoadResult loadConfigString(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return {std::nullopt,
            {name + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg}};
  }
  try {
    return parseDocument(root, name);
  } catch (const YAML::Exception& e) {
    // Bad shapes the readers did not foresee still name their line.
    return {std::nullopt, {name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg}};
  }
}

LoadResult loadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {std::nullopt, {path + ": cannot open file"}};
  std::stringstream ss;
  ss << in.rdbuf();
  return loadConfigString(ss.str(), path);
}

}  // namespace rtmpgate::proxy
