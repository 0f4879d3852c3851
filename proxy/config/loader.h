// Reads and validates a whole config file. Every problem is reported with
// file:line; the result is all or nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "proxy/config/config.h"
#include "proxy/config/reader.h"

namespace rtmpgate::proxy {

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // "file:line: what", empty when config is set
};

LoadResult loadConfigFile(const std::string& path);

// Reads the policy blocks (handshake, limits, access, upstream: whatever the
// modules own) of `root` into a default Policy and checks it whole. Used by
// the loader and by the control plane's UpdatePolicy, so both refuse exactly
// the same things with the same messages.
bool parsePolicy(const YAML::Node& root, ConfigReader& reader, Policy* out);
// `name` stands for the file in messages.
LoadResult loadConfigString(const std::string& yaml, const std::string& name);

}  // namespace rtmpgate::proxy
