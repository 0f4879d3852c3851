#include "support/grpc/reflection_client.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>

// Generated from a staged copy of grpc-proto's reflection.proto (see
// CMakeLists.txt); the code behind it is in libgrpc++_reflection.so.
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace rtmpgate::test {

namespace pb = google::protobuf;
namespace refl = grpc::reflection::v1alpha;

namespace {

using Metadata = std::vector<std::pair<std::string, std::string>>;
using Deadline = std::chrono::system_clock::time_point;

// list and describe take no timeout argument; this bounds them so a hung
// server fails the test instead of hanging it.
constexpr int kReflectionTimeoutMs = 5000;

Deadline deadlineAfter(int timeout_ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
}

void applyMetadata(grpc::ClientContext& context, const Metadata& md, Deadline deadline) {
  for (const auto& [key, value] : md) context.AddMetadata(key, value);
  context.set_deadline(deadline);
}

grpc::Status withContext(const grpc::Status& status, const std::string& context) {
  return grpc::Status(status.error_code(), context + ": " + status.error_message());
}

// One request and its answer over a fresh ServerReflectionInfo stream. A
// stream per lookup rather than one held open: an open stream would make the
// server's Shutdown() wait for this client.
grpc::Status reflectionExchange(const std::shared_ptr<grpc::Channel>& channel, const Metadata& md,
                                Deadline deadline, const refl::ServerReflectionRequest& request,
                                refl::ServerReflectionResponse* response) {
  grpc::ClientContext context;
  applyMetadata(context, md, deadline);
  auto stub = refl::ServerReflection::NewStub(channel);
  auto stream = stub->ServerReflectionInfo(&context);
  bool answered = false;
  if (stream->Write(request)) {
    stream->WritesDone();
    answered = stream->Read(response);
    // The server ends the stream once we half-close; read to the end so
    // Finish() is allowed.
    refl::ServerReflectionResponse extra;
    while (stream->Read(&extra)) {
    }
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) return withContext(status, "server reflection");
  if (!answered) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "server reflection: stream ended without an answer");
  }
  if (response->has_error_response()) {
    const auto& error = response->error_response();
    return grpc::Status(static_cast<grpc::StatusCode>(error.error_code()),
                        "server reflection: " + error.error_message());
  }
  return grpc::Status::OK;
}

// Build errors of files the server sent, kept so a status can say why a
// symbol did not resolve instead of the pool logging it to stderr.
class BuildErrorCollector final : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    if (!errors_.empty()) errors_ += "; ";
    errors_ += filename + ": " + element_name + ": " + message;
  }
  const std::string& errors() const { return errors_; }
  void clear() { errors_.clear(); }

 private:
  std::string errors_;
};

}  // namespace

namespace detail {

// Feeds a DescriptorPool from the server's reflection service, so the pool
// loads a file when a symbol in it is first asked for, and its dependencies
// (by file name) as it builds it.
class ReflectionDatabase final : public pb::DescriptorDatabase {
 public:
  explicit ReflectionDatabase(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)) {}

  // The pool calls us only from inside its own lookups, so what to send and
  // where errors go is set per lookup.
  void beginLookup(const Metadata& md, Deadline deadline) {
    metadata_ = md;
    deadline_ = deadline;
    error_ = grpc::Status::OK;
  }
  // The first failure since beginLookup(); OK when none.
  const grpc::Status& error() const { return error_; }

  bool FindFileByName(const std::string& filename, pb::FileDescriptorProto* output) override {
    if (auto it = files_.find(filename); it != files_.end()) {
      *output = it->second;
      return true;
    }
    refl::ServerReflectionRequest request;
    request.set_file_by_filename(filename);
    return fetch(request, output);
  }

  bool FindFileContainingSymbol(const std::string& symbol,
                                pb::FileDescriptorProto* output) override {
    refl::ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    return fetch(request, output);
  }

  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   pb::FileDescriptorProto* output) override {
    refl::ServerReflectionRequest request;
    request.mutable_file_containing_extension()->set_containing_type(containing_type);
    request.mutable_file_containing_extension()->set_extension_number(field_number);
    return fetch(request, output);
  }

 private:
  void noteError(const grpc::Status& status) {
    if (error_.ok()) error_ = status;
  }

  // The server answers with the file asked for first, then every file it
  // depends on; all are cached so building the first needs no more trips.
  bool fetch(const refl::ServerReflectionRequest& request, pb::FileDescriptorProto* output) {
    refl::ServerReflectionResponse response;
    grpc::Status status = reflectionExchange(channel_, metadata_, deadline_, request, &response);
    if (!status.ok()) {
      noteError(status);
      return false;
    }
    if (!response.has_file_descriptor_response() ||
        response.file_descriptor_response().file_descriptor_proto().empty()) {
      noteError(
          grpc::Status(grpc::StatusCode::INTERNAL, "server reflection: answer holds no file"));
      return false;
    }
    std::string first;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        noteError(grpc::Status(grpc::StatusCode::INTERNAL,
                               "server reflection: unparseable FileDescriptorProto"));
        return false;
      }
      if (first.empty()) first = file.name();
      files_.try_emplace(file.name(), std::move(file));
    }
    *output = files_.at(first);
    return true;
  }

  std::shared_ptr<grpc::Channel> channel_;
  Metadata metadata_;
  Deadline deadline_;
  grpc::Status error_;
  std::map<std::string, pb::FileDescriptorProto> files_;
};

struct ReflectionSchema {
  explicit ReflectionSchema(std::shared_ptr<grpc::Channel> channel)
      : database(std::move(channel)), pool(&database, &build_errors), factory(&pool) {}

  // Call with lookup_mutex held, before anything that may resolve symbols.
  void beginLookup(const Metadata& md, Deadline deadline) {
    database.beginLookup(md, deadline);
    build_errors.clear();
  }

  // Held for a whole resolve or JSON conversion: the pool may call the
  // database during either, and the database's error belongs to whoever set
  // up the lookup.
  std::mutex lookup_mutex;
  ReflectionDatabase database;
  BuildErrorCollector build_errors;
  pb::DescriptorPool pool;
  pb::DynamicMessageFactory factory;
};

}  // namespace detail

namespace {

using detail::ReflectionSchema;

// The status for a symbol the pool could not resolve: NOT_FOUND naming it,
// unless reflection itself failed (server down, reflection not served,
// refused metadata), whose code is kept so the caller sees the real cause.
grpc::Status lookupFailure(const ReflectionSchema& schema, const std::string& what,
                           const std::string& name) {
  const grpc::Status& error = schema.database.error();
  if (!error.ok() && error.error_code() != grpc::StatusCode::NOT_FOUND) {
    return withContext(error, "resolving " + what + " " + name);
  }
  std::string message = what + " not found: " + name;
  if (!error.ok()) message += " (" + error.error_message() + ")";
  if (!schema.build_errors.errors().empty())
    message += " (descriptor errors: " + schema.build_errors.errors() + ")";
  return grpc::Status(grpc::StatusCode::NOT_FOUND, message);
}

// "pkg.Svc/Method", "/pkg.Svc/Method" or "pkg.Svc.Method" (grpcurl takes all
// three) into service and method names.
bool splitMethod(const std::string& full, std::string* service, std::string* method) {
  std::string name = full;
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  size_t cut = name.rfind('/');
  if (cut == std::string::npos) cut = name.rfind('.');
  if (cut == std::string::npos || cut == 0 || cut + 1 == name.size()) return false;
  *service = name.substr(0, cut);
  *method = name.substr(cut + 1);
  return true;
}

// Caller holds schema.lookup_mutex.
grpc::Status resolveMethod(ReflectionSchema& schema, const std::string& full_name,
                           const pb::MethodDescriptor** out) {
  std::string service_name, method_name;
  if (!splitMethod(full_name, &service_name, &method_name)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "method must look like pkg.Service/Method, got '" + full_name + "'");
  }
  const pb::ServiceDescriptor* service = schema.pool.FindServiceByName(service_name);
  if (service == nullptr) return lookupFailure(schema, "service", service_name);
  const pb::MethodDescriptor* method = service->FindMethodByName(method_name);
  if (method == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "method not found: " + method_name + " in service " + service_name);
  }
  *out = method;
  return grpc::Status::OK;
}

// Caller holds schema.lookup_mutex.
grpc::Status encodeRequest(ReflectionSchema& schema, const pb::MethodDescriptor& method,
                           const std::string& json, grpc::ByteBuffer* out) {
  std::unique_ptr<pb::Message> message(schema.factory.GetPrototype(method.input_type())->New());
  // No -d for grpcurl means an empty request; mirror that.
  bool blank =
      std::all_of(json.begin(), json.end(), [](unsigned char c) { return std::isspace(c); });
  // Unknown fields are refused (as grpcurl does) so a misspelt field fails the
  // test instead of being sent as a default.
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      pb::util::JsonStringToMessage(blank ? std::string("{}") : json, message.get(), options);
  if (!parsed.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "request JSON for " + method.full_name() + " (" +
                            method.input_type()->full_name() +
                            ") is invalid: " + std::string(parsed.message()));
  }
  std::string bytes;
  if (!message->SerializeToString(&bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "could not serialize " + method.input_type()->full_name());
  }
  grpc::Slice slice(bytes);
  *out = grpc::ByteBuffer(&slice, 1);
  return grpc::Status::OK;
}

// Caller holds schema.lookup_mutex.
grpc::Status decodeResponse(ReflectionSchema& schema, const pb::Descriptor& type,
                            const grpc::ByteBuffer& buffer, std::string* json) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok())
    return grpc::Status(grpc::StatusCode::INTERNAL, "could not read response bytes");
  std::string bytes;
  for (const grpc::Slice& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  std::unique_ptr<pb::Message> message(schema.factory.GetPrototype(&type)->New());
  if (!message->ParseFromString(bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "response is not a valid " + type.full_name());
  }
  // grpcurl's output: indented, zero values shown, proto field names.
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string printed;
  auto status = pb::util::MessageToJsonString(*message, &printed, options);
  if (!status.ok()) {
    return grpc::Status(
        grpc::StatusCode::INTERNAL,
        "could not print " + type.full_name() + " as JSON: " + std::string(status.message()));
  }
  *json = std::move(printed);
  return grpc::Status::OK;
}

// Waits for the one operation in flight on a completion queue used
// synchronously; false when it failed.
bool await(grpc::CompletionQueue& queue) {
  void* tag = nullptr;
  bool ok = false;
  return queue.Next(&tag, &ok) && ok;
}

void drain(grpc::CompletionQueue& queue) {
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
}

std::string methodPath(const pb::MethodDescriptor& method) {
  return "/" + method.service()->full_name() + "/" + method.name();
}

}  // namespace

ReflectionClient::ReflectionClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), schema_(std::make_unique<ReflectionSchema>(channel_)) {}

ReflectionClient::~ReflectionClient() = default;

void ReflectionClient::setMetadata(std::vector<std::pair<std::string, std::string>> md) {
  for (auto& [key, value] : md) {
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return std::tolower(c); });
  }
  std::lock_guard lock(mutex_);
  metadata_ = std::move(md);
}

ReflectionClient::Metadata ReflectionClient::metadataSnapshot() const {
  std::lock_guard lock(mutex_);
  return metadata_;
}

grpc::Status ReflectionClient::listServices(std::vector<std::string>* out) {
  out->clear();
  refl::ServerReflectionRequest request;
  request.set_list_services("*");
  refl::ServerReflectionResponse response;
  grpc::Status status = reflectionExchange(channel_, metadataSnapshot(),
                                           deadlineAfter(kReflectionTimeoutMs), request, &response);
  if (!status.ok()) return status;
  if (!response.has_list_services_response()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "server reflection: answer to list_services holds no list");
  }
  for (const auto& service : response.list_services_response().service())
    out->push_back(service.name());
  std::sort(out->begin(), out->end());
  return grpc::Status::OK;
}

grpc::Status ReflectionClient::describe(const std::string& symbol, std::string* out) {
  out->clear();
  std::string name = symbol;
  if (!name.empty() && name.front() == '.') name.erase(0, 1);
  std::replace(name.begin(), name.end(), '/', '.');  // pkg.Svc/Method names a method too

  ReflectionSchema* schema = schema_.get();
  std::lock_guard lock(schema->lookup_mutex);
  schema->beginLookup(metadataSnapshot(), deadlineAfter(kReflectionTimeoutMs));
  // Loads the file holding the symbol (and its dependencies) first, so the
  // typed lookups below are answered from the pool without more trips.
  if (schema->pool.FindFileContainingSymbol(name) == nullptr)
    return lookupFailure(*schema, "symbol", name);
  const pb::DescriptorPool& pool = schema->pool;
  if (const auto* service = pool.FindServiceByName(name)) {
    *out = name + " is a service:\n" + service->DebugString();
  } else if (const auto* method = pool.FindMethodByName(name)) {
    *out = name + " is a method:\n" + method->DebugString();
  } else if (const auto* message = pool.FindMessageTypeByName(name)) {
    *out = name + " is a message:\n" + message->DebugString();
  } else if (const auto* enum_type = pool.FindEnumTypeByName(name)) {
    *out = name + " is an enum:\n" + enum_type->DebugString();
  } else if (const auto* field = pool.FindFieldByName(name)) {
    *out = name + " is a field:\n" + field->DebugString();
  } else if (const auto* value = pool.FindEnumValueByName(name)) {
    *out = name + " is an enum value:\n" + value->DebugString();
  } else {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "symbol " + name + " is not a service, method, message, enum or field");
  }
  return grpc::Status::OK;
}

grpc::Status ReflectionClient::callUnary(const std::string& method_name,
                                         const std::string& request_json,
                                         std::string* response_json, int timeout_ms) {
  response_json->clear();
  // One deadline for lookups and call, like grpcurl's -max-time.
  const Deadline deadline = deadlineAfter(timeout_ms);
  const Metadata md = metadataSnapshot();
  ReflectionSchema* schema = schema_.get();

  const pb::MethodDescriptor* method = nullptr;
  grpc::ByteBuffer request;
  {
    std::lock_guard lock(schema->lookup_mutex);
    schema->beginLookup(md, deadline);
    grpc::Status status = resolveMethod(*schema, method_name, &method);
    if (!status.ok()) return status;
    if (method->client_streaming() || method->server_streaming()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          method->full_name() + " is a streaming method; use callServerStream");
    }
    status = encodeRequest(*schema, *method, request_json, &request);
    if (!status.ok()) return status;
  }

  grpc::ClientContext context;
  applyMetadata(context, md, deadline);
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue queue;
  grpc::ByteBuffer reply;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, methodPath(*method), request, &queue);
  call->StartCall();
  call->Finish(&reply, &status, nullptr);
  await(queue);
  drain(queue);
  if (!status.ok()) return status;

  std::lock_guard lock(schema->lookup_mutex);
  schema->beginLookup(md, deadline);
  return decodeResponse(*schema, *method->output_type(), reply, response_json);
}

grpc::Status ReflectionClient::callServerStream(const std::string& method_name,
                                                const std::string& request_json,
                                                size_t max_messages, int timeout_ms,
                                                std::vector<std::string>* responses) {
  responses->clear();
  const Deadline deadline = deadlineAfter(timeout_ms);
  const Metadata md = metadataSnapshot();
  ReflectionSchema* schema = schema_.get();

  const pb::MethodDescriptor* method = nullptr;
  grpc::ByteBuffer request;
  {
    std::lock_guard lock(schema->lookup_mutex);
    schema->beginLookup(md, deadline);
    grpc::Status status = resolveMethod(*schema, method_name, &method);
    if (!status.ok()) return status;
    if (method->client_streaming()) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          method->full_name() +
              " is client-streaming; only unary and server-streaming calls are supported");
    }
    status = encodeRequest(*schema, *method, request_json, &request);
    if (!status.ok()) return status;
  }

  // The deadline on the context is what ends a stream that sends fewer than
  // max_messages: the pending Read fails and Finish reports DEADLINE_EXCEEDED.
  grpc::ClientContext context;
  applyMetadata(context, md, deadline);
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(&context, methodPath(*method), &queue);
  call->StartCall(nullptr);
  bool open = await(queue);
  if (open) {
    call->WriteLast(request, grpc::WriteOptions(), nullptr);
    open = await(queue);
  }
  grpc::Status decode_status;
  while (open && responses->size() < max_messages) {
    grpc::ByteBuffer reply;
    call->Read(&reply, nullptr);
    if (!await(queue)) break;
    std::string json;
    {
      std::lock_guard lock(schema->lookup_mutex);
      schema->beginLookup(md, deadline);
      decode_status = decodeResponse(*schema, *method->output_type(), reply, &json);
    }
    if (!decode_status.ok()) break;
    responses->push_back(std::move(json));
  }
  const bool got_all = decode_status.ok() && responses->size() >= max_messages;
  // The caller has what it wanted (or a reply we cannot read): stop the
  // server instead of waiting for the stream's natural end.
  if (got_all || !decode_status.ok()) context.TryCancel();
  grpc::Status status;
  call->Finish(&status, nullptr);
  await(queue);
  drain(queue);
  if (!decode_status.ok()) return decode_status;
  if (got_all) return grpc::Status::OK;
  return status;
}

}  // namespace rtmpgate::test
