#pragma once
// The messages claud processes exchange through CAF, for claud's own actors and for users' actor
// scripts. Payloads are the protobuf types of src/proto: each travels as one registered CAF type
// whose bytes are the protobuf encoding, so the wire format evolves by protobuf's rules rather than
// by CAF's exact-match typed interfaces (a mismatch there fails a whole `remote_actor` call).
//
// The cluster's door is the `api` actor every master publishes on its --listen port. It answers:
//   (submit_atom, pb::JobSpec)           -> pb::Job   after the submission is committed and durable
//   (status_atom, std::string job_id)    -> pb::Job
//   (wait_atom, std::string job_id)      -> pb::Job   when the job has ended, or after wait_poll_ms
//                                                     with its current state (ask again)
//   (wait_atom, pb::JobIds)              -> pb::JobList, in the order named, when every job has
//                                           ended, or after wait_poll_ms as they are (ask again
//                                           for those that have not); 1 to 10,000 ids
//   (jobs_atom)                          -> pb::JobList
//   (nodes_atom)                         -> pb::NodeList
//   (kill_atom, std::string job_id)      -> pb::Job   after the kill request is committed
//   (logs_atom, pb::LogRequest)          -> pb::LogChunk  read from the slave that ran the job
//   (leader_atom)                        -> pb::LeaderInfo
//   (drain_atom, std::string node_id, bool draining, bool migrate) -> pb::Node once committed;
//                                           with migrate its jobs are stopped there and rescheduled
//   (masters_atom, pb::MembershipChange) -> pb::LeaderInfo once the change is committed: kind
//                                           ADD_LEARNER with a HOST:PORT, or REMOVE with a
//                                           HOST:PORT or a master's node id; one at a time
//   (health_atom)                        -> pb::NodeHealth of the master asked (the leader asks
//                                           every master for its (leader_atom) answer)
//   (events_atom, pb::Subscribe, caf::actor subscriber) -> pb::Subscribed: the event stream
//        (events.proto), served by the master asked from its own apply order. The subscriber
//        then receives (events_atom, uint64_t subscription, event_batch_ref) from the master's
//        event hub, and answers each with (ack_atom, uint64_t subscription, uint64_t batch
//        index) sent to the batch's sender; the next batch comes after it. A subscription that
//        acknowledges nothing within its lease is dropped; (unsubscribe_atom, uint64_t
//        subscription) ends it at once.
// Reads go through the leader and are linearizable; prefixed with local_atom, e.g.
// (local_atom, jobs_atom), the master that receives them answers from its own state at once
// (possibly behind; (local_atom, leader_atom) tells its applied and known commit index).
// A follower forwards every client request to the leader, so a client may reach any master.
// From slaves, answered by the leader only (a follower answers errc::not_leader with the leader's
// address, and the slave connects there):
//   (register_atom, pb::SlaveReport, caf::actor supervisor) -> void once committed
//   (report_atom, std::string node_id, pb::SlaveReport)     -> void once every job report in it
//                                                              is committed (its node is unused)
//   (ping_atom, std::string node_id)                        -> void while registered with this
//                                                              leader, errc::not_found otherwise
// From slaves, answered by every master:
//   (watch_atom, caf::actor watcher) -> void; the watcher then receives
//        (leader_atom, uint64_t term, std::string leader HOST:PORT) at once if a leader is known,
//        and whenever this master learns of another. Watchers are monitored and forgotten when
//        they go down; a master keeps at most max_leader_watchers.
// Between masters:
//   (raft_atom, pb::RaftMessage)                            -> no answer
// With mutual TLS, what a peer may ask follows from its certificate's role: a master anything, a
// client every request above except the slaves' and the masters', a reader only reads (status,
// wait, jobs, nodes, logs, leader), a slave only the slaves' requests; others get errc::forbidden.
// Errors come back as caf::error in the `claud` category (see `errc`), whose context is one line.

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <google/protobuf/message_lite.h>

#include "cluster.pb.h"
#include "events.pb.h"
#include "log.pb.h"
#include "raft.pb.h"
#include "wire.pb.h"

namespace caf {
class actor_system_config;
}

namespace claud {

using submit_atom = caf::atom_constant<caf::atom("submit")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using jobs_atom = caf::atom_constant<caf::atom("jobs")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using logs_atom = caf::atom_constant<caf::atom("logs")>;
using leader_atom = caf::atom_constant<caf::atom("leader")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using raft_atom = caf::atom_constant<caf::atom("raft")>;
using local_atom = caf::atom_constant<caf::atom("local")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using masters_atom = caf::atom_constant<caf::atom("masters")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;

/// The version of claud this program was built as.
const char* claud_version();

/// Error codes of the `claud` error category; the context carries one line for the user.
enum class errc : uint8_t {
  invalid_request = 1, // the request itself is wrong (empty command, bad size): fix and retry
  not_found,           // no such job or node
  conflict,            // the request contradicts the state (kill a finished job)
  unavailable,         // the cluster cannot serve it now (no leader, node down): retry later
  storage_failure,     // the master could not make the write durable
  overloaded,          // a bound was reached (too many waiters): retry later
  not_leader,          // this master does not lead; the context is the leader's HOST:PORT or ""
  outcome_unknown,     // leadership changed after the write was proposed: it may or may not have
                       // been committed, so it is not retried automatically
  forbidden,           // the sender's certificate does not allow the request (a reader's submit)
  not_member,          // this master is outside the membership (removed, or not added yet): it
                       // learns of no leader, so the request goes to another master
};

const char* to_string(errc code);

caf::error make_error(errc code, std::string message);

/// Whether `error` is a claud error with this code.
bool has_code(const caf::error& error, errc code);

/// The one-line message of a claud error, or CAF's rendering of any other error.
std::string error_message(const caf::error& error);

/// Registers every message type above; call on every actor_system_config that talks to claud.
void register_protocol(caf::actor_system_config& cfg);

/// Everything a networked claud process needs: the protocol, CAF's middleman, a quiet CAF logger,
/// and a scheduler whose idle workers sleep at once instead of polling (see the definition).
/// Nodes, the CLI and actor scripts all start their actor system with it.
void configure_networked_system(caf::actor_system_config& cfg);

/// Mutual TLS for every connection of the system `cfg` starts (call before it starts): the
/// cluster CA's certificate, this process's certificate and its private key, PEM files made by
/// `claud tls`. All three empty: no TLS. The files must have been checked (the client checks
/// them when it connects).
void configure_tls(caf::actor_system_config& cfg, const std::string& ca, const std::string& cert,
                   const std::string& key);

/// The application identifier checked by CAF's middleman on every connection, so a claud process
/// refuses peers of another program or an incompatible protocol version.
constexpr const char* application_id = "claud-1";

/// The most leader watchers (slaves) one master keeps; further ones are refused (overloaded).
constexpr size_t max_leader_watchers = 100000;

/// The most jobs one (wait_atom, pb::JobIds) request may name.
constexpr size_t max_jobs_per_wait = 10000;

/// The longest a master may hold a wait before answering it (its --wait-poll-ms): clients take a
/// wait that stays unanswered longer for a master that died or froze.
constexpr std::chrono::milliseconds max_wait_poll{4000};

/// A batch of the event stream as a master sends it: one batch shared, unchanged, by every
/// subscription it goes to (copies of the message share it); on the wire, the pb::EventBatch.
struct event_batch_ref {
  std::shared_ptr<const pb::EventBatch> batch;
};

template<class Inspector>
std::enable_if_t<Inspector::reads_state, typename Inspector::result_type>
inspect(Inspector& f, event_batch_ref& x) {
  std::string bytes = x.batch ? x.batch->SerializeAsString() : std::string{};
  return f(caf::meta::type_name("claud.EventBatchRef"), bytes);
}

template<class Inspector>
std::enable_if_t<Inspector::writes_state, typename Inspector::result_type>
inspect(Inspector& f, event_batch_ref& x) {
  std::string bytes;
  auto parse = caf::meta::load_callback([&]() -> caf::error {
    auto batch = std::make_shared<pb::EventBatch>();
    if (!batch->ParseFromString(bytes))
      return caf::sec::invalid_argument;
    x.batch = std::move(batch);
    return caf::none;
  });
  return f(caf::meta::type_name("claud.EventBatchRef"), bytes, parse);
}

} // namespace claud

namespace claud::pb {

/// CAF serialization for every protobuf message: its protobuf bytes as one string.
template<class Inspector, class Message>
std::enable_if_t<std::is_base_of<google::protobuf::MessageLite, Message>::value
                     && Inspector::reads_state,
                 typename Inspector::result_type>
inspect(Inspector& f, Message& x) {
  std::string bytes = x.SerializeAsString();
  return f(caf::meta::type_name(Message::descriptor()->full_name().c_str()), bytes);
}

template<class Inspector, class Message>
std::enable_if_t<std::is_base_of<google::protobuf::MessageLite, Message>::value
                     && Inspector::writes_state,
                 typename Inspector::result_type>
inspect(Inspector& f, Message& x) {
  std::string bytes;
  auto parse = caf::meta::load_callback([&]() -> caf::error {
    if (!x.ParseFromString(bytes))
      return caf::sec::invalid_argument;
    return caf::none;
  });
  return f(caf::meta::type_name(Message::descriptor()->full_name().c_str()), bytes, parse);
}

} // namespace claud::pb
