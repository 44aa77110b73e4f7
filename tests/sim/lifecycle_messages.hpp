#pragma once
// What simulated slaves, clients and masters say to each other over the wire (wire.hpp): the same
// exchanges the slave_link, job_supervisor, resource_tracker and api actors have, as plain structs.

#include <cstdint>
#include <string>
#include <variant>

#include "cluster.pb.h"
#include "wire.pb.h"

namespace claud::sim {

// Slave -> master.
struct register_slave {
  pb::SlaveReport report; // the node and its full report
  std::string connection; // this connection's name, unique per slave process and connect
};
struct job_reports {
  std::string node_id;
  pb::SlaveReport batch;
  uint64_t seq = 0;
};
struct ping {
  std::string node_id;
};
/// The slave's process died: its connection closed (what a CAF monitor tells).
struct connection_closed {
  std::string connection;
};

// Master -> slave.
struct registration_answer {
  std::string connection;
  bool ok = false;
  bool not_leader = false;
  std::string refusal;
  std::string leader; // not_leader: the leader this master knows of, if any
};
struct reports_answer {
  uint64_t seq = 0;
  bool ok = false;
};
struct pong {
  bool registered = false;
};
struct start_jobs {
  std::string connection;
  pb::StartJob batch;
};
struct kill_attempt {
  std::string connection;
  std::string job_id;
  uint32_t attempt = 0;
};
/// A master that starts to lead tells every slave (leader_watch).
struct leader_is {
  uint64_t term = 0;
};

// Client <-> master.
struct submit_job {
  uint64_t request = 0;
  pb::JobSpec spec; // with its idempotency key
};
struct kill_job {
  uint64_t request = 0;
  std::string job_id;
};
struct drain_node {
  uint64_t request = 0;
  std::string node_id;
  bool draining = true;
};
struct answer {
  uint64_t request = 0;
  bool ok = false;
  bool not_leader = false; // nothing was done: ask the leader
  std::string job_id;      // a submission's job
  std::string error;
};

using message = std::variant<register_slave, job_reports, ping, connection_closed,
                             registration_answer, reports_answer, pong, start_jobs, kill_attempt,
                             leader_is, submit_job, kill_job, drain_node, answer>;

} // namespace claud::sim
