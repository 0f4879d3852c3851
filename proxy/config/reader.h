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
  const std::vector<std::string>& errors() const { return errors_; }
  bool ok() const { return errors_.empty(); }

  // True if node is a map whose keys are all in `allowed`; reports each
  // unknown key with its line. `where` names the block ("upstream").
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
  std::vector<std::string> errors_;
};

// "500ms", "10s", "2m", "1h"; a bare number is seconds (as nginx). nullopt
// on anything else.
std::optional<Millis> parseDuration(std::string_view text);

}  // namespace rtmpgate::proxy
