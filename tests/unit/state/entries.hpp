#pragma once
// Builders of log entries for the state machine's tests, and a replica that numbers them: each
// `apply` gets the next index and a time of 1000 ms per index, so times in assertions are readable.
// Also a generator of random entries, valid or not, and a byte form of a state that is stable
// across processes (for comparing replicas).

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "log.pb.h"
#include "state/cluster_state.hpp"

namespace claud::state::test {

constexpr int64_t gib = int64_t{1} << 30;

/// A job that ends where its attempt ends: no restart, not rescheduled when its node is lost
/// (tests of restarts set the policy they need).
inline pb::JobSpec spec(int64_t cpu_millis, int64_t memory_bytes, const std::string& name = "") {
  pb::JobSpec s;
  s.set_fail_on_node_lost(true);
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
  pb::Job job(const std::string& id) const {
    auto j = state.find_job(id);
    if (!j)
      throw std::logic_error("test asked for unknown job " + id);
    return std::move(*j);
  }
  const pb::Node& node(const std::string& id) const {
    const pb::Node* n = state.find_node(id);
    if (n == nullptr)
      throw std::logic_error("test asked for unknown node " + id);
    return *n;
  }
};

/// A random entry for `state`, valid or not. Three times in four a placement names a pending job
/// and a report names a placed or running job with its own node and attempt; else ids come from
/// small ranges. So every transition happens, and so do no-ops.
inline pb::LogEntry random_entry(std::mt19937& random, const cluster_state& state) {
  // Every draw is its own statement: argument evaluation order would differ between compilers.
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  // Sorted: protobuf map order differs between instances and would make a seed irreproducible.
  std::vector<std::string> pending;
  std::vector<std::string> holding;
  for (const auto& [id, job] : state.live_jobs()) {
    if (job.state() == pb::JOB_PENDING)
      pending.push_back(id);
    if (job.state() == pb::JOB_PLACED || job.state() == pb::JOB_RUNNING)
      holding.push_back(id);
  }
  std::sort(pending.begin(), pending.end());
  std::sort(holding.begin(), holding.end());
  const auto jobs = static_cast<int>(state.next_job_number());
  std::string job = std::to_string(1 + pick(jobs + 2));
  const bool aimed = pick(4) != 0;
  std::string node = std::string(1, static_cast<char>('a' + pick(4)));
  auto attempt = static_cast<uint32_t>(pick(3));
  const int small = 1 + pick(4);
  const int large = 1 + pick(8);
  const bool flip = pick(2) == 0;
  const int op = pick(13);
  const auto& targets = op < 4 ? pending : holding;
  if (aimed && op < 10 && !targets.empty()) {
    job = targets[static_cast<size_t>(pick(static_cast<int>(targets.size())))];
    node = state.find_live_job(job)->node_id();
    attempt = state.find_live_job(job)->attempts();
  }
  switch (op) {
  case 0: { // half of them after a job that may be live, ended or unknown; some of many tasks
    auto s = spec(250 * large, gib / 4 * small);
    if (small == 4) {
      s.set_task_count(static_cast<uint32_t>(large));
      s.set_task_parallel(static_cast<uint32_t>(pick(3)));
      s.set_task_attempts(static_cast<uint32_t>(pick(3)));
    }
    if (flip) {
      auto* dependency = s.add_after();
      dependency->set_job_id(std::to_string(1 + pick(jobs + 1)));
      dependency->set_condition(static_cast<pb::DependencyCondition>(small % 3));
    }
    return submitted(s);
  }
  case 1: { // placed by the leader at submission, on a node that may not take it
    auto e = submitted(spec(250 * large, gib / 4 * small));
    e.mutable_job_submitted()->set_node_id(std::string(1, static_cast<char>('a' + small - 1)));
    return e;
  }
  case 2:
  case 3:
    return placed(job, std::string(1, static_cast<char>('a' + small - 1)));
  case 4:
  case 5:
    return started(job, node, attempt);
  case 6:
    return flip ? exited(job, node, attempt, small - 1) : ended(job, node, attempt, 9, "oom");
  case 7: { // started and ended in one report
    auto e = exited(job, node, attempt, small - 1);
    e.mutable_job_finished()->set_started(true);
    e.mutable_job_finished()->set_ran_for_ms(100 * large);
    return e;
  }
  case 8:
    return flip ? kill(job) : job_lost(job, "gone");
  case 9:
    return unplaceable(job, "busy");
  case 12: { // a slot's task end and pull: its own (task, attempt) mostly, else made up
    std::vector<std::string> slots;
    for (const auto& id : holding)
      if (!state.find_live_job(id)->slot_of().empty())
        slots.push_back(id);
    pb::LogEntry e;
    auto* r = e.mutable_task_reports()->add_reports();
    r->set_slot_job_id(slots.empty()
                           ? job + ".s1"
                           : slots[static_cast<size_t>(pick(static_cast<int>(slots.size())))]);
    const auto* slot = state.find_live_job(r->slot_job_id());
    r->set_node_id(slot != nullptr ? slot->node_id() : node);
    r->set_slot_attempt(slot != nullptr && aimed ? slot->attempts() : attempt);
    r->set_pull(small != 1);
    const auto* parent = slot != nullptr ? state.find_live_job(slot->slot_of()) : nullptr;
    if (parent != nullptr && flip) {
      r->set_has_ended(true);
      r->set_index(static_cast<uint32_t>(pick(large)));
      r->set_attempt(static_cast<uint32_t>(pick(3)));
      for (const auto& o : parent->tasks().out())
        if (aimed && (o.slot() >> 32) == slot->slot()) {
          r->set_index(o.index());
          r->set_attempt(o.attempt());
        }
      r->set_succeeded(small > 2);
      r->set_has_exit_code(true);
      r->set_exit_code(small > 2 ? 0 : 1);
    }
    return e;
  }
  case 10:
    return registered(node.empty() ? "a" : node, 1000 * small, gib * (large + 1) / 2,
                      flip ? pb::ROLE_SLAVE : pb::ROLE_DEV);
  default:
    return node_lost(node, "missed heartbeats");
  }
}

/// Serialized with map entries in key order, so equal states give equal bytes in every process.
inline std::string stable_bytes(const pb::ClusterState& state) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    state.SerializeToCodedStream(&coded);
  }
  return out;
}

} // namespace claud::state::test
