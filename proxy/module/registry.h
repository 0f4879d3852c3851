#pragma once

#include <span>

#include "proxy/module/module.h"

namespace rtmpgate::proxy {

inline constexpr size_t kMaxModules = 8;

// Every module, in the order a session meets them.
std::span<const ModuleDef* const> allModules();

}  // namespace rtmpgate::proxy
