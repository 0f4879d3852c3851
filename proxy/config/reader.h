// Typed reads from a YAML tree that record every problem with its file:line,
// so `rtmpgate -t` can print all of them at once. Each module's YAML binding
// uses these; nothing here throws.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/config/config.h"

namespace rtmpgate::proxy {

class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  // Records "file:line: what". A null node reports without a line.
  void error(const YAML::Node& at, const std::string& what);
  // In line order (errors without a line first).
  std::vector<std::string> errors() const;
  bool ok() const { return errors_.empty(); }

  // Reports each unknown or repeated key with its line; returns false only
  // when node is not a map at all, so callers go on to check the known keys
  // and every problem is reported in one run. `where` names the block.
  bool checkMap(const YAML::Node& node, std::string_view where,
                std::initializer_list<std::string_view> allowed);

  std::optional<std::string> readString(const YAML::Node& node, std::string_view what);
  std::optional<uint64_t> readUint(const YAML::Node& node, std::string_view what, uint64_t min,
                                   uint64_t max);
  std::optional<Millis> readDuration(const YAML::Node& node, std::string_view what);
  // One of `names`, returned as its index.
  std::optional<size_t> readEnum(const YAML::Node& node, std::string_view what,
                                 std::initializer_list<std::string_view> names);
  std::optional<SocketAddress> readAddress(const YAML::Node& node, std::string_view what);
  std::optional<std::vector<Cidr>> readCidrList(const YAML::Node& node, std::string_view what);

 private:
  std::string file_;
  std::vector<std::pair<int, std::string>> errors_;  // (line, message)
};

// "500ms", "10s", "2m", "1h"; a bare number is seconds (as nginx). nullopt
// on anything else.
std::optional<Millis> parseDuration(std::string_view text);

}  // namespace rtmpgate::proxy
