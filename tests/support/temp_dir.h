#pragma once

#include <string>

namespace rtmpgate::test {

// A private directory under $TMPDIR (or /tmp), removed with its contents on
// destruction unless E2E_KEEP=1 is set, so a failed run can be inspected.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void writeFile(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

bool keepTempFiles();

}  // namespace rtmpgate::test
