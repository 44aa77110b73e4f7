#pragma once
// resource_tracker: which slaves are connected, and the leader's link to each. It registers a
// slave (a committed NodeRegistered), reconciles what the slave reports against the committed
// state, turns job reports into committed transitions, tells slaves to start jobs once their
// placement is committed (the starts of a burst of placements in one message per slave, never
// after a kill of the same slave sent later) and to stop jobs a user killed, and turns a slave's
// death (CAF monitor: its connection closed) or silence (no ping, report or registration for
// `slave_timeout`: frozen or cut off) into a committed NodeLost. The decisions are pure and live
// in src/sched: sched::slave_registry (who may register, who is lost, what each slave is told in
// which order) and sched/reconcile.hpp (report to entry, reconciliation, grace); this actor does
// the messaging, monitors and timers around them.
//
// Interface:
//   (register_atom, pb::SlaveReport, caf::actor supervisor) -> caf::unit_t once registered
//   (report_atom, std::string node_id, pb::SlaveReport)     -> caf::unit_t once each of its job
//                                                               reports is committed (a stale one
//                                                               is acknowledged too)
//   (logs_atom, pb::LogRequest, std::string node_id)        -> pb::LogChunk from that slave
//   (ping_atom, std::string node_id)                        -> void if registered, else not_found
//   (kill_atom, std::string node_id, std::string job_id, uint32_t attempt) -> void; tells that
//        slave to stop the attempt (a drain with --migrate moved the job)
//   (nodes_atom, pb::NodeList)                              -> pb::NodeList with heard_ms_ago set
//                                                               for each slave connected here
// and, as a subscriber of leader_election, job and node updates.
//
// It works only while this master leads. Nodes the state holds as alive that do not register
// within `registration_grace` after this master starts leading (they died while no leader
// watched them) are committed as lost.

#include <chrono>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace claud {

struct resource_tracker_config {
  caf::actor leader_election;
  std::chrono::milliseconds registration_grace{5000};
  std::chrono::milliseconds slave_timeout{2000}; // silence after which a registered slave is lost
  std::chrono::milliseconds internal_timeout{5000};
};

caf::actor spawn_resource_tracker(caf::actor_system& system, resource_tracker_config config);

} // namespace claud
