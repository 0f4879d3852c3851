#include "control/convert.h"

#include <gtest/gtest.h>

#include "proxy/config/loader.h"
#include "proxy/stats/stats.h"

namespace rtmpgate::control {
namespace {

using proxy::Stat;

proxy::Policy basePolicy() {
  auto r = proxy::loadConfigString(
      "listen: [{address: 127.0.0.1:1935}]\n"
      "handshake: {timeout: 5s, echo_check: report}\n"
      "limits: {max_connections: 50, max_connections_per_ip: 0}\n"
      "access: {deny: [10.0.0.0/8]}\n"
      "upstream:\n"
      "  strategy: least_conn\n"
      "  backends: [{address: 127.0.0.1:1936, weight: 3}, {address: 127.0.0.1:1937}]\n",
      "t.yaml");
  EXPECT_TRUE(r.config.has_value());
  return r.config->policy;
}

TEST(StatsProto, EveryStatHasAFieldOfTheSameName) {
  const auto* desc = v1::Stats::descriptor();
  for (size_t i = 0; i < proxy::kStatCount; ++i) {
    std::string name(proxy::statName(static_cast<Stat>(i)));
    const auto* f = desc->FindFieldByName(name);
    ASSERT_NE(f, nullptr) << "Stats has no field " << name;
    EXPECT_EQ(f->type(), google::protobuf::FieldDescriptor::TYPE_UINT64) << name;
  }
}

TEST(PolicyProto, RoundTripKeepsEveryField) {
  proxy::Policy p = basePolicy();
  v1::Policy proto = policyToProto(p, 7);
  EXPECT_EQ(proto.revision(), 7u);
  EXPECT_EQ(proto.handshake().timeout(), "5000ms");
  EXPECT_EQ(proto.handshake().echo_check(), "report");
  EXPECT_EQ(proto.limits().max_connections_per_ip(), 0u);
  EXPECT_EQ(proto.upstream().strategy(), "least_conn");
  std::string err;
  auto back = policyFromProto(proto, proxy::Policy{}, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->handshake.timeout.count(), 5000);
  EXPECT_EQ(back->handshake.echo_check, proxy::rtmp::EchoCheck::kReport);
  EXPECT_EQ(back->limits.max_connections, 50u);
  EXPECT_EQ(back->limits.max_connections_per_ip, 0u);
  ASSERT_EQ(back->access.deny.size(), 1u);
  EXPECT_EQ(back->access.deny[0].text, "10.0.0.0/8");
  EXPECT_EQ(back->upstream.strategy, proxy::Strategy::kLeastConn);
  ASSERT_EQ(back->upstream.backends.size(), 2u);
  EXPECT_EQ(back->upstream.backends[0].weight, 3u);
}

TEST(PolicyProto, UpstreamHandshakeTravelsBothWays) {
  proxy::Policy p = basePolicy();
  EXPECT_EQ(policyToProto(p, 1).upstream().handshake(), "simple");
  p.upstream.handshake = proxy::rtmp::ClientMode::kDigest;
  v1::Policy proto = policyToProto(p, 2);
  EXPECT_EQ(proto.upstream().handshake(), "digest");
  std::string err;
  auto back = policyFromProto(proto, proxy::Policy{}, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->upstream.handshake, proxy::rtmp::ClientMode::kDigest);

  // UpdatePolicy naming it; a present upstream section without it means simple.
  v1::Policy update = policyToProto(basePolicy(), 0);
  update.mutable_upstream()->set_handshake("digest");
  back = policyFromProto(update, basePolicy(), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->upstream.handshake, proxy::rtmp::ClientMode::kDigest);
  update.mutable_upstream()->clear_handshake();
  back = policyFromProto(update, p, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->upstream.handshake, proxy::rtmp::ClientMode::kSimple);

  update.mutable_upstream()->set_handshake("rtmpe");
  EXPECT_FALSE(policyFromProto(update, p, &err));
  EXPECT_NE(err.find("upstream.handshake"), std::string::npos) << err;
}

TEST(PolicyProto, AbsentSectionsAreKeptPresentOnesReplaced) {
  proxy::Policy current = basePolicy();
  v1::Policy update;
  update.mutable_access()->add_deny("192.168.0.0/16");
  std::string err;
  auto next = policyFromProto(update, current, &err);
  ASSERT_TRUE(next) << err;
  ASSERT_EQ(next->access.deny.size(), 1u);
  EXPECT_EQ(next->access.deny[0].text, "192.168.0.0/16");
  EXPECT_EQ(next->limits.max_connections, 50u);  // untouched section kept
  EXPECT_EQ(next->upstream.backends.size(), 2u);

  v1::Policy limits_only;
  limits_only.mutable_limits()->set_max_connections(9);
  next = policyFromProto(limits_only, current, &err);
  ASSERT_TRUE(next) << err;
  EXPECT_EQ(next->limits.max_connections, 9u);
  // A present section replaces the old one: fields left out take defaults.
  EXPECT_EQ(next->limits.max_connections_per_ip, 100u);
}

TEST(PolicyProto, BadUpdatesAreRefusedNamingTheField) {
  proxy::Policy current = basePolicy();
  struct Case {
    std::function<void(v1::Policy&)> edit;
    std::string expect;
  };
  std::vector<Case> cases = {
      {[](v1::Policy& p) { p.mutable_handshake()->set_timeout("soon"); }, "handshake.timeout"},
      {[](v1::Policy& p) { p.mutable_handshake()->set_mode("fast"); }, "handshake.mode"},
      {[](v1::Policy& p) { p.mutable_handshake()->add_versions(300); }, "handshake.versions"},
      {[](v1::Policy& p) { p.mutable_access()->add_allow("10.0.0.0/33"); }, "access.allow"},
      {[](v1::Policy& p) { p.mutable_upstream()->set_strategy("random"); }, "upstream.strategy"},
      {[](v1::Policy& p) { p.mutable_upstream(); }, "upstream.backends must name at least one"},
      {[](v1::Policy& p) { p.mutable_upstream()->add_backends()->set_address("example.com:1935"); },
       "upstream.backends address"},
      {[](v1::Policy& p) {
         auto* b = p.mutable_upstream()->add_backends();
         b->set_address("127.0.0.1:1936");
         b->set_weight(0);
       },
       "weight"},
      {[](v1::Policy& p) { p.mutable_limits()->set_max_connections(0); }, "limits.max_connections"},
  };
  for (const auto& c : cases) {
    v1::Policy update;
    c.edit(update);
    std::string err;
    auto next = policyFromProto(update, current, &err);
    EXPECT_FALSE(next) << "accepted: " << update.ShortDebugString();
    EXPECT_NE(err.find(c.expect), std::string::npos) << "error '" << err << "' should name "
                                                     << c.expect;
  }
}

TEST(EventProto, CarriesEveryField) {
  proxy::SessionEvent e{.kind = proxy::SessionEvent::Kind::kRejected,
                        .time_ms = 5,
                        .session_id = 9,
                        .client = "1.2.3.4:5",
                        .backend = "",
                        .reason = "bad_version",
                        .detail = "tls_client_hello"};
  v1::Event p = eventToProto(e);
  EXPECT_EQ(p.kind(), "rejected");
  EXPECT_EQ(p.session_id(), 9u);
  EXPECT_EQ(p.reason(), "bad_version");
  EXPECT_EQ(p.detail(), "tls_client_hello");
}

}  // namespace
}  // namespace rtmpgate::control
