#include "claud/protocol.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "net/guarded_multiplexer.hpp"

namespace claud {

const char* claud_version() {
  return CLAUD_VERSION;
}

const char* to_string(errc code) {
  switch (code) {
  case errc::invalid_request:
    return "invalid request";
  case errc::not_found:
    return "not found";
  case errc::conflict:
    return "conflict";
  case errc::unavailable:
    return "unavailable";
  case errc::storage_failure:
    return "storage failure";
  case errc::overloaded:
    return "overloaded";
  case errc::not_leader:
    return "not leader";
  case errc::forbidden:
    return "forbidden";
  case errc::not_member:
    return "not a member";
  case errc::outcome_unknown:
    return "outcome unknown";
  }
  return "unknown error";
}

caf::error make_error(errc code, std::string message) {
  return caf::error(static_cast<uint8_t>(code), caf::atom("claud"),
                    caf::make_message(std::move(message)));
}

bool has_code(const caf::error& error, errc code) {
  return error && error.category() == caf::atom("claud")
         && error.code() == static_cast<uint8_t>(code);
}

std::string error_message(const caf::error& error) {
  if (!error)
    return "no error";
  const auto& context = error.context();
  if (error.category() == caf::atom("claud") && context.match_elements<std::string>())
    return context.get_as<std::string>(0);
  if (error.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(error.code())) {
    case caf::sec::request_timeout:
      return "the cluster did not answer in time";
    case caf::sec::request_receiver_down:
      return "the master went away while answering";
    case caf::sec::cannot_connect_to_node:
      return "nothing answers there";
    case caf::sec::unexpected_response:
      return "the peer answered with an unexpected message (a different claud version?)";
    default:
      break;
    }
  }
  return caf::to_string(error);
}

void register_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_type<pb::JobSpec>("claud.pb.JobSpec");
  cfg.add_message_type<pb::Job>("claud.pb.Job");
  cfg.add_message_type<pb::JobList>("claud.pb.JobList");
  cfg.add_message_type<pb::JobIds>("claud.pb.JobIds");
  cfg.add_message_type<pb::Node>("claud.pb.Node");
  cfg.add_message_type<pb::NodeList>("claud.pb.NodeList");
  cfg.add_message_type<pb::SlaveReport>("claud.pb.SlaveReport");
  cfg.add_message_type<pb::JobReport>("claud.pb.JobReport");
  cfg.add_message_type<pb::StartJob>("claud.pb.StartJob");
  cfg.add_message_type<pb::LogRequest>("claud.pb.LogRequest");
  cfg.add_message_type<pb::LogChunk>("claud.pb.LogChunk");
  cfg.add_message_type<pb::LeaderInfo>("claud.pb.LeaderInfo");
  cfg.add_message_type<pb::NodeHealth>("claud.pb.NodeHealth");
  cfg.add_message_type<pb::LogEntry>("claud.pb.LogEntry");
  cfg.add_message_type<pb::MembershipChange>("claud.pb.MembershipChange");
  cfg.add_message_type<pb::RaftMessage>("claud.pb.RaftMessage");
  cfg.add_message_type<pb::Subscribe>("claud.pb.Subscribe");
  cfg.add_message_type<pb::Subscribed>("claud.pb.Subscribed");
  cfg.add_message_type<pb::EventBatch>("claud.pb.EventBatch");
  cfg.add_message_type<pb::EventFilter>("claud.pb.EventFilter");
  cfg.add_message_type<event_batch_ref>("claud.EventBatchRef");
  cfg.add_error_category(caf::atom("claud"),
                         [](uint8_t code, caf::atom_value, const caf::message& context) {
                           std::string text = to_string(static_cast<errc>(code));
                           if (context.match_elements<std::string>())
                             text += ": " + context.get_as<std::string>(0);
                           return text;
                         });
  cfg.set("middleman.app-identifiers", std::vector<std::string>{application_id});
}

void configure_tls(caf::actor_system_config& cfg, const std::string& ca, const std::string& cert,
                   const std::string& key) {
  if (ca.empty() && cert.empty() && key.empty())
    return;
  caf::put(cfg.content, net::tls_ca_key, ca);
  caf::put(cfg.content, net::tls_cert_key, cert);
  caf::put(cfg.content, net::tls_key_key, key);
}

void configure_networked_system(caf::actor_system_config& cfg) {
  register_protocol(cfg);
  // A peer cannot make this process reserve more than the limit for one message.
  cfg.load<caf::io::middleman, net::guarded_multiplexer>();
  if (!caf::get_if(&cfg.content, net::max_message_bytes_key))
    caf::put(cfg.content, net::max_message_bytes_key, net::default_max_message_bytes);
  // Messages are decoded on the middleman's own thread, not on BASP worker threads. CAF 0.17
  // frees a closed connection's socket (whose number is the connection's handle) at once but
  // forgets the connection only after the messages queued for the workers: a client accepted on
  // the reused number in between lost its routing entry, and with it the answer to its request
  // (under 8 or more concurrent clients, about one submission in 1,000 went unanswered).
  cfg.set("middleman.workers", size_t{0});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  // A CAF worker that runs out of messages polls its queue 500 times, 50 us apart (nodes had cut
  // that to 10), before it sleeps on a condition variable, which a message from another thread
  // signals. A claud process goes idle after almost every message (a job's life is a chain of hops
  // between five processes), so each hop left workers waking every 50 us: 3,000 trivial jobs
  // through 3 masters and 2 slaves cost 540,000 context switches (250,000 sleeping at once), one
  // job's latency p50 5.2 ms (3.6-3.9 ms), and an idle node 4 % of a core (2 %).
  cfg.set("work-stealing.moderate-poll-attempts", 0);
}

} // namespace claud
