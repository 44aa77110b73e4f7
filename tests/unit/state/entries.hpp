#pragma once
// Builders of log entries for the state machine's tests, and a replica that numbers them: each
// `apply` gets the next index and a time of 1000 ms per index, so times in assertions are readable.

#include <cstdint>
#include <string>

#include "log.pb.h"
#include "state/cluster_state.hpp"

namespace claud::state::test {

inline pb::JobSpec spec(int64_t cpu_millis, int64_t memory_bytes, const std::string& name = "") {
  pb::JobSpec s;
  s.set_name(name);
  s.add_argv("sleep");
  s.add_argv("1");
  s.set_cpu_millis(cpu_millis);
  s.set_memory_bytes(memory_bytes);
  return s;
}

inline pb::LogEntry submitted(const pb::JobSpec& s) {
  pb::LogEntry e;
  *e.mutable_job_submitted()->mutable_spec() = s;
  return e;
}

inline pb::LogEntry placed(const std::string& job, const std::string& node) {
  pb::LogEntry e;
  e.mutable_job_placed()->set_job_id(job);
  e.mutable_job_placed()->set_node_id(node);
  return e;
}

inline pb::LogEntry unplaceable(const std::string& job, const std::string& reason) {
  pb::LogEntry e;
  e.mutable_job_unplaceable()->set_job_id(job);
  e.mutable_job_unplaceable()->set_reason(reason);
  return e;
}

inline pb::LogEntry started(const std::string& job, const std::string& node, uint32_t attempt) {
  pb::LogEntry e;
  auto* op = e.mutable_job_started();
  op->set_job_id(job);
  op->set_node_id(node);
  op->set_attempt(attempt);
  return e;
}

/// A process that exited with `exit_code`.
inline pb::LogEntry exited(const std::string& job, const std::string& node, uint32_t attempt,
                           int32_t exit_code) {
  pb::LogEntry e;
  auto* op = e.mutable_job_finished();
  op->set_job_id(job);
  op->set_node_id(node);
  op->set_attempt(attempt);
  op->set_has_exit_code(true);
  op->set_exit_code(exit_code);
  return e;
}

/// A process ended by a signal, or (signal 0 and a reason) one that could not start.
inline pb::LogEntry ended(const std::string& job, const std::string& node, uint32_t attempt,
                          int32_t signal, const std::string& reason = "") {
  pb::LogEntry e;
  auto* op = e.mutable_job_finished();
  op->set_job_id(job);
  op->set_node_id(node);
  op->set_attempt(attempt);
  op->set_term_signal(signal);
  op->set_reason(reason);
  return e;
}

inline pb::LogEntry kill(const std::string& job) {
  pb::LogEntry e;
  e.mutable_job_kill_requested()->set_job_id(job);
  return e;
}

inline pb::LogEntry job_lost(const std::string& job, const std::string& reason) {
  pb::LogEntry e;
  e.mutable_job_lost()->set_job_id(job);
  e.mutable_job_lost()->set_reason(reason);
  return e;
}

inline pb::LogEntry registered(const std::string& id, int64_t cpu_millis, int64_t memory_bytes,
                               pb::NodeRole role = pb::ROLE_SLAVE) {
  pb::LogEntry e;
  auto* node = e.mutable_node_registered()->mutable_node();
  node->set_id(id);
  node->set_role(role);
  node->set_address(id + ".example:7400");
  node->set_cpu_millis_total(cpu_millis);
  node->set_memory_bytes_total(memory_bytes);
  return e;
}

inline pb::LogEntry node_lost(const std::string& id, const std::string& reason) {
  pb::LogEntry e;
  e.mutable_node_lost()->set_node_id(id);
  e.mutable_node_lost()->set_reason(reason);
  return e;
}

/// A cluster_state fed entries with consecutive indexes starting at 1.
struct replica {
  cluster_state state;
  uint64_t next_index = 1;

  apply_result apply(pb::LogEntry e) {
    e.set_index(next_index);
    e.set_term(1);
    e.set_time_ms(static_cast<int64_t>(1000 * next_index));
    ++next_index;
    return state.apply(e);
  }
  const pb::Job& job(const std::string& id) const {
    const pb::Job* j = state.find_job(id);
    if (j == nullptr)
      throw std::logic_error("test asked for unknown job " + id);
    return *j;
  }
  const pb::Node& node(const std::string& id) const {
    const pb::Node* n = state.find_node(id);
    if (n == nullptr)
      throw std::logic_error("test asked for unknown node " + id);
    return *n;
  }
};

} // namespace claud::state::test
