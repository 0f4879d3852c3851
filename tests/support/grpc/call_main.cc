// grpc-call: a minimal grpcurl for scripts on machines without grpcurl
// (Debian 12 has none). Uses server reflection, speaks JSON.
//   grpc-call ADDR list
//   grpc-call ADDR describe SYMBOL
//   grpc-call [-H 'key: value'] ADDR pkg.Service/Method [JSON]
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "support/grpc/reflection_client.h"

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> md;
  int i = 1;
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
