#include "proxy/config/reader.h"

#include <algorithm>
#include <charconv>

namespace rtmpgate::proxy {

void ConfigReader::error(const YAML::Node& at, const std::string& what) {
  std::string where = file_;
  int line = at.IsDefined() ? at.Mark().line + 1 : 0;
  if (line > 0) where += ":" + std::to_string(line);
  errors_.emplace_back(line, where + ": " + what);
}

std::vector<std::string> ConfigReader::errors() const {
  auto sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& e : sorted) out.push_back(std::move(e.second));
  return out;
}

bool ConfigReader::checkMap(const YAML::Node& node, std::string_view where,
                            std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) {
    error(node, "'" + std::string(where) + "' must be a mapping");
    return false;
  }
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
      }
      error(kv.first, "unknown key '" + key + "' in '" + std::string(where) + "' (known: " +
                          list + ")");
    }
    // yaml-cpp keeps the first of two equal keys; silently ignoring the
    // second would make an edit look applied when it is not.
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      error(kv.first, "key '" + key + "' appears twice in '" + std::string(where) + "'");
    }
    seen.push_back(key);
  }
  return true;
}

std::optional<std::string> ConfigReader::readString(const YAML::Node& node,
                                                    std::string_view what) {
  if (!node.IsScalar()) {
    error(node, std::string(what) + " must be a scalar");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<uint64_t> ConfigReader::readUint(const YAML::Node& node, std::string_view what,
                                               uint64_t min, uint64_t max) {
  if (!node.IsScalar()) {
    error(node, std::string(what) + " must be a number");
    return std::nullopt;
  }
  const std::string& s = node.Scalar();
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < min || v > max) {
    error(node, std::string(what) + " must be a whole number from " + std::to_string(min) +
                    " to " + std::to_string(max) + ", not '" + s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<Millis> parseDuration(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  std::string_view unit(end, s.data() + s.size() - end);
  uint64_t mult;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s" || unit.empty()) {
    mult = 1000;
  } else if (unit == "m") {
    mult = 60'000;
  } else if (unit == "h") {
    mult = 3'600'000;
  } else {
    return std::nullopt;
  }
  if (v > (uint64_t{1} << 40) / mult) return std::nullopt;
  return Millis(v * mult);
}

std::optional<Millis> ConfigReader::readDuration(const YAML::Node& node, std::string_view what) {
  if (node.IsScalar()) {
    if (auto d = parseDuration(node.Scalar())) return d;
  }
  error(node, std::string(what) + " must be a duration like 500ms, 10s or 2m, not '" +
                  (node.IsScalar() ? node.Scalar() : std::string("<non-scalar>")) + "'");
  return std::nullopt;
}

std::optional<size_t> ConfigReader::readEnum(const YAML::Node& node, std::string_view what,
                                             std::initializer_list<std::string_view> names) {
  std::string list;
  size_t i = 0;
  for (std::string_view n : names) {
    if (node.IsScalar() && node.Scalar() == n) return i;
    if (!list.empty()) list += " | ";
    list += n;
    ++i;
  }
  error(node, std::string(what) + " must be one of " + list + ", not '" +
                  (node.IsScalar() ? node.Scalar() : std::string("<non-scalar>")) + "'");
  return std::nullopt;
}

std::optional<SocketAddress> ConfigReader::readAddress(const YAML::Node& node,
                                                       std::string_view what) {
  auto text = readString(node, what);
  if (!text) return std::nullopt;
  std::string why;
  auto a = parseSocketAddress(*text, &why);
  if (!a) error(node, std::string(what) + " '" + *text + "': " + why);
  return a;
}

std::optional<std::vector<Cidr>> ConfigReader::readCidrList(const YAML::Node& node,
                                                            std::string_view what) {
  if (!node.IsSequence()) {
    error(node, std::string(what) + " must be a list of CIDRs");
    return std::nullopt;
  }
  std::vector<Cidr> out;
  bool ok = true;
  for (const auto& item : node) {
    std::string why;
    std::optional<Cidr> c;
    if (item.IsScalar()) c = parseCidr(item.Scalar(), &why);
    if (!c) {
      error(item, std::string(what) + ": " + (why.empty() ? "expected a CIDR string" : why));
      ok = false;
      continue;
    }
    out.push_back(*c);
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace rtmpgate::proxy
