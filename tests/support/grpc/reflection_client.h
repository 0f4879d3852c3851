// A gRPC client for tests that works like grpcurl: it learns every service
// and message from the server's reflection service at run time and speaks
// JSON, so tests see exactly what an operator with grpcurl would see and need
// no generated code for the service under test.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rtmpgate::test {

namespace detail {
// The descriptors learnt so far (reflection-backed descriptor pool and
// message factory), kept between calls so a call costs one reflection round
// trip at most. Defined in reflection_client.cc.
struct ReflectionSchema;
}  // namespace detail

class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel);
  ~ReflectionClient();

  ReflectionClient(const ReflectionClient&) = delete;
  ReflectionClient& operator=(const ReflectionClient&) = delete;

  // Metadata sent with every call, reflection lookups included (a server
  // that authenticates everything would refuse reflection otherwise), e.g.
  // {"authorization", "Bearer x"}. Keys are lower-cased: gRPC rejects
  // upper-case header names.
  void setMetadata(std::vector<std::pair<std::string, std::string>> md);

  // grpcurl `list`: service names through ServerReflectionInfo list_services,
  // sorted.
  grpc::Status listServices(std::vector<std::string>* out);

  // grpcurl `describe SYMBOL`: a service, method ("pkg.Svc.Method" or
  // "pkg.Svc/Method"), message, enum or field by fully-qualified name,
  // resolved through reflection (file_containing_symbol, then
  // file_by_filename for dependencies). Output: "<symbol> is a service:\n"
  // followed by the descriptor's DebugString.
  grpc::Status describe(const std::string& symbol, std::string* out);

  // grpcurl -d JSON ADDR pkg.Svc/Method for a unary method. An empty
  // request_json means "{}". The response is JSON with every primitive field
  // printed and proto field names kept (64-bit integers come out as strings,
  // as the protobuf JSON mapping says). Client-side errors: INVALID_ARGUMENT
  // for bad JSON, NOT_FOUND for an unknown service or method,
  // FAILED_PRECONDITION for a streaming method.
  grpc::Status callUnary(const std::string& method, const std::string& request_json,
                         std::string* response_json, int timeout_ms = 5000);

  // A server-streaming (or unary) method: collects up to max_messages
  // responses as JSON, or as many as arrive within timeout_ms, then cancels.
  // Returns OK when max_messages arrived, otherwise the call's final status
  // (DEADLINE_EXCEEDED on timeout; OK when the server ended the stream early,
  // so check responses->size()).
  grpc::Status callServerStream(const std::string& method, const std::string& request_json,
                                size_t max_messages, int timeout_ms,
                                std::vector<std::string>* responses);

 private:
  using Metadata = std::vector<std::pair<std::string, std::string>>;

  Metadata metadataSnapshot() const;

  std::shared_ptr<grpc::Channel> channel_;
  // Guards metadata_ only: the schema locks itself.
  mutable std::mutex mutex_;
  Metadata metadata_;
  // Failed lookups are not cached by protobuf's pool beyond the lookup
  // itself, so one schema serves the client's whole life, including calls
  // made before the server was up.
  std::unique_ptr<detail::ReflectionSchema> schema_;
};

}  // namespace rtmpgate::test
