#include "sched/reconcile.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "state/job_states.hpp"

namespace claud::sched {

pb::LogEntry entry_from_report(const std::string& node_id, const pb::JobReport& report) {
  pb::LogEntry entry;
  if (report.running()) {
    auto* op = entry.mutable_job_started();
    op->set_job_id(report.job_id());
    op->set_node_id(node_id);
    op->set_attempt(report.attempt());
  } else {
    auto* op = entry.mutable_job_finished();
    op->set_job_id(report.job_id());
    op->set_node_id(node_id);
    op->set_attempt(report.attempt());
    op->set_has_exit_code(report.has_exit_code());
    op->set_exit_code(report.exit_code());
    op->set_term_signal(report.term_signal());
    op->set_reason(report.reason());
    if (report.started_at_ms() != 0) {
      op->set_started(true);
      op->set_ran_for_ms(std::max<int64_t>(0, report.finished_at_ms() - report.started_at_ms()));
    }
  }
  return entry;
}

bool is_current_attempt(const pb::Job* job, const std::string& node_id, uint32_t attempt) {
  return job && state::holds_resources(job->state()) && job->node_id() == node_id
         && job->attempts() == attempt;
}

reconciliation reconcile(const std::string& node_id, const pb::SlaveReport& report,
                         const pb::JobList& jobs, const attempt_set& told_since_report) {
  reconciliation out;
  std::map<std::string, const pb::Job*> assigned; // jobs the state has on this node
  for (const auto& job : jobs.jobs())
    if (state::holds_resources(job.state()) && job.node_id() == node_id)
      assigned[job.id()] = &job;
  std::set<std::string> reported;
  for (const auto& r : report.jobs()) {
    auto i = assigned.find(r.job_id());
    bool current = i != assigned.end() && is_current_attempt(i->second, node_id, r.attempt());
    if (current) {
      reported.insert(r.job_id());
      if (r.running() && i->second->state() == pb::JOB_PLACED)
        out.proposals.push_back(entry_from_report(node_id, r));
    } else if (r.running()) {
      out.kills.push_back({r.job_id(), r.attempt()});
    }
  }
  for (const auto& [id, job] : assigned) {
    if (reported.count(id) || told_since_report.count({id, job->attempts()}))
      continue;
    if (job->state() == pb::JOB_PLACED) {
      out.starts.push_back(*job);
    } else {
      pb::LogEntry entry;
      entry.mutable_job_lost()->set_job_id(id);
      entry.mutable_job_lost()->set_reason(
          fmt::format("slave {} no longer runs it (it restarted)", node_id));
      out.proposals.push_back(std::move(entry));
      out.given_up.push_back({id, job->attempts()});
    }
  }
  return out;
}

std::vector<pb::LogEntry>
lost_after_grace(const pb::NodeList& nodes,
                 const std::function<bool(const std::string&)>& registered, int64_t grace_ms) {
  std::vector<pb::LogEntry> lost;
  for (const auto& node : nodes.nodes()) {
    if (node.state() != pb::NODE_ALIVE || !state::runs_jobs(node.role()) || registered(node.id()))
      continue;
    pb::LogEntry entry;
    entry.mutable_node_lost()->set_node_id(node.id());
    entry.mutable_node_lost()->set_reason(
        fmt::format("it did not register within {} ms of this master starting to lead", grace_ms));
    lost.push_back(std::move(entry));
  }
  return lost;
}

} // namespace claud::sched
