#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rtmpgate::test {

// How a child ended: exactly one of code (normal exit) or signal is meaningful.
struct ExitStatus {
  int code = -1;
  int signal = 0;

  bool exitedWith(int expected) const { return signal == 0 && code == expected; }
  std::string describe() const;
};

// A child process whose stdout and stderr go to a log file. The destructor
// always stops and reaps it, so a failed assertion never leaks a peer.
class Process {
 public:
  // Throws std::runtime_error when the program cannot be found or forked.
  Process(std::string program, std::vector<std::string> args, std::string logPath);
  ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return logPath_; }
  // The command line, for failure messages.
  std::string commandLine() const;

  bool running();
  bool signal(int sig);
  // Waits until the child exits; nullopt when it is still running at the deadline.
  std::optional<ExitStatus> waitExit(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns how it ended.
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(3));

  std::string logText() const;
  std::string logTail(std::size_t maxLines = 40) const;

 private:
  bool reap(bool block);

  std::string program_;
  std::vector<std::string> args_;
  std::string logPath_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

std::string readFileText(const std::string& path);
// Last maxLines lines of a file, or a note saying it is missing or empty.
std::string tailOfFile(const std::string& path, std::size_t maxLines = 40);
// Resolves a bare program name through PATH; returns "" when not found.
std::string findProgram(const std::string& program);

}  // namespace rtmpgate::test
