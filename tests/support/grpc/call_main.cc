// grpc-call: a minimal grpcurl for scripts on machines without grpcurl
// (Debian 12 has none). Uses server reflection, speaks JSON.
//   grpc-call ADDR list
//   grpc-call ADDR describe SYMBOL
//   grpc-call [-H 'key: value'] ADDR pkg.Service/Method [JSON]
//   grpc-call --repeat N ADDR Svc/Method [JSON]   latency of N calls (after one warm-up)
//   grpc-call --watch SECONDS ADDR Svc/Method [JSON]   read a stream, print how many
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/grpc/reflection_client.h"

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> md;
  int i = 1;
  int repeat = 0;
  int watch_s = 0;
  while (i + 1 < argc && (std::string(argv[i]) == "--repeat" || std::string(argv[i]) == "--watch")) {
    (std::string(argv[i]) == "--repeat" ? repeat : watch_s) = std::atoi(argv[i + 1]);
    i += 2;
  }
  while (i + 1 < argc && std::string(argv[i]) == "-H") {
    std::string h = argv[i + 1];
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string v = h.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      md.emplace_back(h.substr(0, colon), v);
    }
    i += 2;
  }
  if (argc - i < 2) {
    std::fprintf(stderr, "usage: grpc-call [-H 'k: v'] ADDR (list | describe SYM | Svc/Method [JSON])\n");
    return 2;
  }
  rtmpgate::test::ReflectionClient client(
      grpc::CreateChannel(argv[i], grpc::InsecureChannelCredentials()));
  client.setMetadata(md);
  std::string what = argv[i + 1];
  grpc::Status st;
  std::string out;
  if (what == "list") {
    std::vector<std::string> names;
    st = client.listServices(&names);
    for (const auto& n : names) out += n + "\n";
  } else if (what == "describe" && argc - i >= 3) {
    st = client.describe(argv[i + 2], &out);
  } else if (watch_s > 0) {
    std::vector<std::string> msgs;
    st = client.callServerStream(what, argc - i >= 3 ? argv[i + 2] : "{}", 1u << 30,
                                 watch_s * 1000, &msgs);
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) st = grpc::Status::OK;
    out = "messages=" + std::to_string(msgs.size());
  } else if (repeat > 0) {
    const std::string json = argc - i >= 3 ? argv[i + 2] : "{}";
    st = client.callUnary(what, json, &out, 10000);  // warm-up: reflection lookups
    std::vector<double> ms;
    for (int k = 0; k < repeat && st.ok(); ++k) {
      auto t0 = std::chrono::steady_clock::now();
      st = client.callUnary(what, json, &out, 10000);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                       .count());
    }
    std::sort(ms.begin(), ms.end());
    char buf[160];
    if (!ms.empty()) {
      std::snprintf(buf, sizeof(buf), "calls=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bytes=%zu",
                    ms.size(), ms[ms.size() / 2], ms[(ms.size() * 99) / 100], ms.back(),
                    out.size());
      out = buf;
    }
  } else {
    st = client.callUnary(what, argc - i >= 3 ? argv[i + 2] : "{}", &out, 10000);
  }
  if (!st.ok()) {
    std::fprintf(stderr, "ERROR: code %d: %s\n", static_cast<int>(st.error_code()),
                 st.error_message().c_str());
    return 1;
  }
  std::fputs(out.c_str(), stdout);
  if (!out.empty() && out.back() != '\n') std::fputc('\n', stdout);
  return 0;
}
