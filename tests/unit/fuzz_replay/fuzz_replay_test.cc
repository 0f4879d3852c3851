// Replays every committed fuzz input through the fuzz targets' own harness
// (tests/fuzz/harness.h), so the ordinary gcc build, and its ASan + UBSan
// run, guard them: the seed corpora (tests/fuzz/corpus/<target>/*) and every
// crash input ever found (tests/fuzz/crashes/<target>/*). One test per file,
// e.g. FuzzReplay/CommittedInput.Replays/corpus_fuzz_config_minimal_yaml.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/fuzz/harness.h"
// Compiled here rather than as a library: the unit test target is a glob of
// tests/unit/, and the fuzz build compiles harness.cc on its own.
#include "tests/fuzz/harness.cc"  // NOLINT(bugprone-suspicious-include)

#ifndef RTMPGATE_SOURCE_DIR
#error "RTMPGATE_SOURCE_DIR must name the source tree"
#endif

namespace rtmpgate::fuzz_replay {
namespace {

using fuzz::Outcome;
using fuzz::runTarget;
using fuzz::setFailureHandler;

namespace fs = std::filesystem;

const char* const kTargets[] = {"fuzz_server_handshake", "fuzz_client_handshake", "fuzz_config"};

fs::path fuzzDir() { return fs::path(RTMPGATE_SOURCE_DIR) / "tests" / "fuzz"; }

struct Replay {
  std::string kind;    // "corpus" or "crashes"
  std::string target;  // the subdirectory: which harness
  fs::path path;
  std::string name;  // gtest-safe and unique
};

void PrintTo(const Replay& r, std::ostream* os) { *os << r.path; }

bool isInput(const fs::directory_entry& e) {
  const std::string n = e.path().filename().string();
  return e.is_regular_file() && !n.starts_with(".") && !n.starts_with("README");
}

std::vector<Replay> allInputs() {
  std::vector<Replay> out;
  std::set<std::string> names;
  for (const char* kind : {"corpus", "crashes"}) {
    std::error_code ec;
    for (const auto& dir : fs::directory_iterator(fuzzDir() / kind, ec)) {
      if (!dir.is_directory()) continue;
      std::vector<fs::path> files;
      for (const auto& f : fs::directory_iterator(dir.path())) {
        if (isInput(f)) files.push_back(f.path());
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) {
        Replay r{kind, dir.path().filename().string(), f, ""};
        std::string name = r.kind + "_" + r.target + "_" + f.filename().string();
        std::replace_if(
            name.begin(), name.end(), [](unsigned char c) { return !std::isalnum(c); }, '_');
        std::string unique = name;
        for (int i = 2; !names.insert(unique).second; ++i) unique = name + "_" + std::to_string(i);
        r.name = unique;
        out.push_back(std::move(r));
      }
    }
  }
  return out;
}

std::vector<uint8_t> readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

// A broken invariant throws instead of trapping, so one bad file fails one test.
struct InvariantBroken : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void throwOnFailure(const char* target, const char* check, int line) {
  throw InvariantBroken(std::string(target) + ": " + check +
                        " (tests/fuzz/harness.cc:" + std::to_string(line) + ")");
}

class CommittedInput : public ::testing::TestWithParam<Replay> {
 protected:
  void SetUp() override { setFailureHandler(&throwOnFailure); }
  void TearDown() override { setFailureHandler(nullptr); }
};

TEST_P(CommittedInput, Replays) {
  const Replay& r = GetParam();
  const std::vector<uint8_t> data = readAll(r.path);
  try {
    EXPECT_TRUE(runTarget(r.target, data.data(), data.size()).has_value())
        << r.path << ": no fuzz target named " << r.target;
  } catch (const InvariantBroken& e) {
    ADD_FAILURE() << r.path << " (" << data.size() << " bytes): " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(FuzzReplay, CommittedInput, ::testing::ValuesIn(allInputs()),
                         [](const ::testing::TestParamInfo<Replay>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CommittedInput);

// A misspelt directory would otherwise be replayed by nothing.
TEST(FuzzReplay, EveryDirectoryNamesATarget) {
  for (const char* kind : {"corpus", "crashes"}) {
    std::error_code ec;
    for (const auto& dir : fs::directory_iterator(fuzzDir() / kind, ec)) {
      if (!dir.is_directory()) continue;
      const std::string name = dir.path().filename().string();
      EXPECT_TRUE(std::find(std::begin(kTargets), std::end(kTargets), name) != std::end(kTargets))
          << dir.path() << " is not named after a fuzz target";
    }
  }
}

TEST(FuzzReplay, EveryTargetHasSeeds) {
  for (const char* target : kTargets) {
    const fs::path dir = fuzzDir() / "corpus" / target;
    size_t n = 0;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) n += isInput(f) ? 1 : 0;
    EXPECT_GE(n, 3u) << dir;
  }
  EXPECT_TRUE(fs::exists(fuzzDir() / "crashes" / "README.md"));
}

// The example configs as they are now (the corpus holds copies, which can
// lag behind): each must load, through the fuzz harness.
TEST(FuzzReplay, ExampleConfigsLoad) {
  setFailureHandler(&throwOnFailure);
  for (const char* rel : {"deploy/rtmpgate.yaml", "deploy/container/rtmpgate.yaml"}) {
    const std::vector<uint8_t> data = readAll(fs::path(RTMPGATE_SOURCE_DIR) / rel);
    EXPECT_FALSE(data.empty()) << rel;
    try {
      EXPECT_EQ(runTarget("fuzz_config", data.data(), data.size())->end, Outcome::kDone) << rel;
    } catch (const InvariantBroken& e) {
      ADD_FAILURE() << rel << ": " << e.what();
    }
  }
  setFailureHandler(nullptr);
}

// The seeds must keep reaching the deep ends, or the fuzzer starts far from
// them: a change to S1 (random, digest placement) makes the committed C2s
// stale. Regenerate them then: build-fuzz/tests/fuzz/fuzz_make_seeds "$PWD".
TEST(FuzzReplay, SeedsReachEveryEnd) {
  setFailureHandler(&throwOnFailure);
  std::set<std::string> reached;
  for (const Replay& r : allInputs()) {
    if (r.kind != "corpus") continue;
    const std::vector<uint8_t> data = readAll(r.path);
    std::optional<Outcome> o;
    try {
      o = runTarget(r.target, data.data(), data.size());
    } catch (const InvariantBroken&) {
      continue;  // CommittedInput.Replays reports it
    }
    if (!o) continue;
    static const char* const kEnds[] = {"incomplete", "done", "failed"};
    reached.insert(r.target + " " + kEnds[o->end] + (o->digest ? " digest" : ""));
  }
  setFailureHandler(nullptr);
  for (const char* want :
       {"fuzz_server_handshake done", "fuzz_server_handshake done digest",
        "fuzz_server_handshake failed", "fuzz_server_handshake failed digest",
        "fuzz_server_handshake incomplete", "fuzz_client_handshake done",
        "fuzz_client_handshake done digest", "fuzz_client_handshake failed",
        "fuzz_client_handshake incomplete", "fuzz_config done", "fuzz_config failed"}) {
    EXPECT_TRUE(reached.count(want)) << "no seed ends as: " << want;
  }
}

}  // namespace
}  // namespace rtmpgate::fuzz_replay
