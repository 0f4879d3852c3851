// Reads and validates a whole config file. Every problem is reported with
// file:line; the result is all or nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proxy/config/config.h"

namespace rtmpgate::proxy {

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // "file:line: what", empty when config is set
};

LoadResult loadConfigFile(const std::string& path);
// `name` stands for the file in messages.
LoadResult loadConfigString(const std::string& yaml, const std::string& name);

}  // namespace rtmpgate::proxy
