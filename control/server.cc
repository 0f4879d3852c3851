#include "control/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "control/state_file.h"
#include "grpc/health/v1/health.pb.h"
#include "proxy/core/log.h"

namespace rtmpgate::control {

using namespace ::rtmpgate::proxy;  // log macros

namespace {

constexpr char kServiceName[] = "rtmpgate.v1.Control";

bool readFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

ControlServer::ControlServer(proxy::Runtime& runtime) : runtime_(runtime) {}

ControlServer::~ControlServer() { shutdown(0); }

bool ControlServer::start(const proxy::ControlConfig& config, std::string* error) {
  if (config.listen.empty()) return true;
  ServiceOptions options;
  if (!config.auth_token_file.empty()) {
    if (!readFile(config.auth_token_file, &options.auth_token, error)) return false;
    options.auth_token = trimmed(options.auth_token);
    if (options.auth_token.empty()) {
      *error = config.auth_token_file + " is empty";
      return false;
    }
  }
  if (!config.state_file.empty()) {
    std::string path = config.state_file;
    options.on_policy_applied = [path](const rtmpgate::v1::Policy& p) {
      std::string err;
      if (!saveStateFile(path, p, &err)) logError("state file not written: %s", err.c_str());
    };
  }

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!config.tls_cert_file.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!readFile(config.tls_key_file, &pair.private_key, error) ||
        !readFile(config.tls_cert_file, &pair.cert_chain, error)) {
      return false;
    }
    ssl.pem_key_cert_pairs.push_back(pair);
    if (!config.tls_client_ca_file.empty()) {
      if (!readFile(config.tls_client_ca_file, &ssl.pem_root_certs, error)) return false;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  }

  service_ = std::make_unique<ControlService>(runtime_, std::move(options));
  // The default health service works without it, but reflection can only
  // describe and call Health if health.pb.o is linked, and nothing else in
  // the binary refers to it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  // Debian links with --as-needed: without this call libgrpc++_reflection is
  // dropped and reflection silently answers UNIMPLEMENTED.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, creds, &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_) {
    *error = "control plane cannot listen on " + config.listen;
    return false;
  }
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  logInfo("control plane on %s%s%s", config.listen.c_str(),
          config.tls_cert_file.empty() ? "" : " (TLS)",
          config.auth_token_file.empty() ? "" : " (token auth)");
  return true;
}

void ControlServer::setDraining() {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", false);
  health->SetServingStatus(kServiceName, false);
}

void ControlServer::shutdown(int grace_ms) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  server_->Wait();
  server_.reset();
}

}  // namespace rtmpgate::control
