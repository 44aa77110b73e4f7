#include "state/job_states.hpp"

#include <fmt/format.h>

namespace claud::state {

job_id_order id_order(const std::string& id) {
  job_id_order order;
  size_t i = 0;
  for (; i < id.size() && id[i] >= '0' && id[i] <= '9' && order.number < (1ULL << 60); ++i)
    order.number = order.number * 10 + static_cast<uint64_t>(id[i] - '0');
  if (id.compare(i, 2, ".s") != 0)
    return order;
  for (i += 2; i < id.size() && id[i] >= '0' && id[i] <= '9' && order.slot < (1U << 24); ++i)
    order.slot = order.slot * 10 + static_cast<uint32_t>(id[i] - '0');
  return order;
}

bool job_id_less(const std::string& a, const std::string& b) {
  const auto x = id_order(a);
  const auto y = id_order(b);
  if (x.number != y.number || x.slot != y.slot)
    return x.number != y.number ? x.number < y.number : x.slot < y.slot;
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::string slot_id(const std::string& job_id, uint32_t slot) {
  return fmt::format("{}.s{}", job_id, slot);
}

bool is_terminal(pb::JobState state) {
  switch (state) {
  case pb::JOB_SUCCEEDED:
  case pb::JOB_FAILED:
  case pb::JOB_KILLED:
  case pb::JOB_LOST:
    return true;
  default:
    return false;
  }
}

bool holds_resources(pb::JobState state) {
  return state == pb::JOB_PLACED || state == pb::JOB_RUNNING;
}

bool is_task_job(const pb::Job& job) {
  return job.spec().task_count() > 0 && job.slot_of().empty();
}

bool is_placeable(const pb::Job& job) {
  return job.state() == pb::JOB_PENDING && job.waits_for_size() == 0 && !is_task_job(job);
}

std::string job_state_name(pb::JobState state) {
  switch (state) {
  case pb::JOB_PENDING:
    return "pending";
  case pb::JOB_PLACED:
    return "placed";
  case pb::JOB_RUNNING:
    return "running";
  case pb::JOB_SUCCEEDED:
    return "succeeded";
  case pb::JOB_FAILED:
    return "failed";
  case pb::JOB_KILLED:
    return "killed";
  case pb::JOB_LOST:
    return "lost";
  default:
    return "unknown";
  }
}

std::string node_state_name(pb::NodeState state) {
  switch (state) {
  case pb::NODE_ALIVE:
    return "alive";
  case pb::NODE_DOWN:
    return "down";
  default:
    return "unknown";
  }
}

std::string node_role_name(pb::NodeRole role) {
  switch (role) {
  case pb::ROLE_MASTER:
    return "master";
  case pb::ROLE_SLAVE:
    return "slave";
  case pb::ROLE_DEV:
    return "dev";
  default:
    return "unknown";
  }
}

bool runs_jobs(pb::NodeRole role) {
  return role == pb::ROLE_SLAVE || role == pb::ROLE_DEV;
}

bool same_incarnation(const pb::Node& known, const pb::Node& incoming) {
  return known.incarnation() == 0 || incoming.incarnation() == 0
         || known.incarnation() == incoming.incarnation();
}

std::string identity_conflict(const pb::Node& known) {
  return fmt::format("node id {} belongs to a live node with another data dir (at {}); give this "
                     "node its own --node-id, or stop the other one first",
                     known.id(), known.address());
}

} // namespace claud::state
