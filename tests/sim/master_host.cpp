#include "master_host.hpp"

#include <fmt/format.h>

#include "sched/reconcile.hpp"
#include "state/job_states.hpp"

namespace claud::sim {

namespace {

/// A connection is named "<slave>#<process generation>".
std::string slave_of(const std::string& connection) {
  return connection.substr(0, connection.find('#'));
}

} // namespace

master_host::master_host(std::string id, cluster& masters, wire<message>& wire,
                         std::vector<std::string> slaves, const lifecycle_timing& timing)
    : id_(std::move(id)), masters_(masters), wire_(wire), slave_ids_(std::move(slaves)),
      timing_(timing), queue_(timing.max_placements_per_pass),
      slaves_(timing.slave_timeout_steps * cluster::ms_per_step) {}

void master_host::reset() {
  queue_ = sched::pending_queue{timing_.max_placements_per_pass};
  slaves_ = sched::slave_registry<std::string>{timing_.slave_timeout_steps * cluster::ms_per_step};
  proposals_.clear();
  submissions_.clear();
  followers_.clear();
  pass_requested_ = false;
  wake_at_ms_ = 0;
  grace_ends_ = 0;
}

void master_host::send(const std::string& to, message m) {
  wire_.send(id_, to, std::move(m), now_);
}

void master_host::send_to_slave(const sched::slave_registry<std::string>::message& m) {
  const auto slave = slave_of(m.to);
  if (m.starts.jobs_size() > 0)
    send(slave, start_jobs{m.to, m.starts});
  if (m.kill)
    send(slave, kill_attempt{m.to, m.kill->job_id, m.kill->attempt});
}

void master_host::propose(pb::LogEntry entry, done_fn done) {
  if (on_propose_)
    on_propose_(entry);
  auto index = masters_.propose_entry(id_, std::move(entry));
  if (index == 0) {
    done(nullptr);
    return;
  }
  proposals_[index] = {masters_.term(id_), std::move(done)};
}

void master_host::fail_proposals() {
  auto failed = std::move(proposals_);
  proposals_.clear();
  for (auto& [index, p] : failed)
    p.done(nullptr);
}

void master_host::on_output(const replica::output& out, uint64_t now) {
  now_ = now;
  for (const auto& applied : out.applied) {
    for (const auto& id : applied.result.changed_jobs)
      if (auto job = state().find_job(id)) {
        pass_requested_ |= queue_.track(*job);
        if (auto kill = slaves_.on_job_update(*job))
          send_to_slave(*kill);
      }
    for (const auto& id : applied.result.changed_nodes)
      if (const auto* node = state().find_node(id))
        pass_requested_ |= queue_.update_node(*node);
    auto p = proposals_.find(applied.entry.index());
    if (p == proposals_.end())
      continue;
    auto done = std::move(p->second.done);
    bool same_term = p->second.term == applied.entry.term();
    proposals_.erase(p);
    done(same_term ? &applied.result : nullptr);
  }
  if (out.snapshot_installed) {
    queue_.reload(state().pending_view());
    pass_requested_ = true;
    // Proposals the snapshot covered are decided, but not knowable here.
    const auto applied = masters_.master(id_).raft().log().applied();
    while (!proposals_.empty() && proposals_.begin()->first <= applied) {
      auto done = std::move(proposals_.begin()->second.done);
      proposals_.erase(proposals_.begin());
      done(nullptr);
    }
  }
}

void master_host::follow_role(uint64_t now) {
  const bool leads = masters_.up(id_) && masters_.role(id_) == raft::role::leader;
  if (leads == slaves_.leading())
    return;
  slaves_.set_leading(leads);
  if (!leads) {
    fail_proposals();
    for (auto& s : submissions_)
      send(s.client, answer{s.request, false, true, "", "not the leader"});
    submissions_.clear();
    return;
  }
  queue_.reload(state().pending_view());
  pass_requested_ = true;
  grace_ends_ = now + static_cast<uint64_t>(timing_.registration_grace_steps);
  next_heartbeat_check_ = now;
  // leader_watch: every slave hears of the new leader from it.
  for (const auto& slave : slave_ids_)
    send(slave, leader_is{masters_.term(id_)});
}

void master_host::on_register(const std::string& from, const register_slave& r, uint64_t now) {
  if (!leading()) {
    send(from,
         registration_answer{r.connection, false, true, "", masters_.master(id_).raft().leader()});
    return;
  }
  const auto& node = r.report.node();
  auto admitted = slaves_.admit(node, r.connection, ms(now));
  if (!admitted.refusal.empty()) {
    send(from, registration_answer{r.connection, false, false, admitted.refusal, ""});
    return;
  }
  pb::LogEntry entry;
  *entry.mutable_node_registered()->mutable_node() = node;
  auto report = r.report;
  auto connection = r.connection;
  propose(std::move(entry), [this, from, report, connection](const state::apply_result* result) {
    if (!result) {
      slaves_.registration_settled(report.node().id(), connection, ms(now_));
      slaves_.registration_reconciled(report.node().id(), connection);
      send(from, registration_answer{connection, false, false, "", ""}); // it registers again
      return;
    }
    if (!result->applied) { // the state holds its id as another live node
      slaves_.forget(report.node().id(), connection);
      send(from, registration_answer{connection, false, false, result->error, ""});
      return;
    }
    slaves_.registration_settled(report.node().id(), connection, ms(now_));
    send(from, registration_answer{connection, true, false, "", ""});
    pb::JobList jobs;
    for (const auto& [id, job] : state().live_jobs())
      if (job.node_id() == report.node().id() && state::holds_resources(job.state()))
        *jobs.add_jobs() = job;
    auto plan = sched::reconcile(report.node().id(), report, jobs,
                                 slaves_.told_since_report(report.node().id()));
    slaves_.registration_reconciled(report.node().id(), connection);
    for (auto& e : plan.proposals)
      propose(std::move(e), [](const state::apply_result*) {});
    for (const auto& kill : plan.kills)
      if (auto m = slaves_.kill(report.node().id(), kill.job_id, kill.attempt))
        send_to_slave(*m);
    for (const auto& lost : plan.given_up)
      if (auto m = slaves_.kill(report.node().id(), lost.job_id, lost.attempt))
        send_to_slave(*m);
    for (const auto& job : plan.starts)
      slaves_.queue_start(job);
  });
}

void master_host::on_reports(const std::string& from, const job_reports& r, uint64_t now) {
  slaves_.heard(r.node_id, ms(now));
  if (!leading()) {
    send(from, reports_answer{r.seq, false});
    return;
  }
  struct outcome {
    int unanswered = 0;
    bool ok = true;
  };
  auto batch = std::make_shared<outcome>();
  batch->unanswered = r.batch.jobs_size();
  if (batch->unanswered == 0) {
    send(from, reports_answer{r.seq, true});
    return;
  }
  for (const auto& report : r.batch.jobs())
    propose(sched::entry_from_report(r.node_id, report),
            [this, from, seq = r.seq, batch, report,
             node_id = r.node_id](const state::apply_result* result) {
              // A running attempt the state refused: stopped unless the state runs it there.
              if (result && !result->applied && report.running()
                  && !sched::is_current_attempt(state().find_live_job(report.job_id()), node_id,
                                                report.attempt()))
                if (auto kill = slaves_.kill(node_id, report.job_id(), report.attempt()))
                  send_to_slave(*kill);
              // Not applied means the state moved past the report: acknowledged too.
              batch->ok &= result != nullptr;
              if (--batch->unanswered == 0)
                send(from, reports_answer{seq, batch->ok});
            });
}

void master_host::on_client(const std::string& from, const message& m) {
  uint64_t request = 0;
  pb::LogEntry entry;
  if (const auto* s = std::get_if<submit_job>(&m)) {
    request = s->request;
  } else if (const auto* k = std::get_if<kill_job>(&m)) {
    request = k->request;
    entry.mutable_job_kill_requested()->set_job_id(k->job_id);
  } else if (const auto* d = std::get_if<drain_node>(&m)) {
    request = d->request;
    entry.mutable_node_drain()->set_node_id(d->node_id);
    entry.mutable_node_drain()->set_draining(d->draining);
  } else {
    return; // nothing a client asks
  }
  if (!leading()) {
    send(from, answer{request, false, true, "", "not the leader"});
    return;
  }
  if (const auto* s = std::get_if<submit_job>(&m)) {
    submissions_.push_back({from, s->request, s->spec});
    return;
  }
  propose(std::move(entry), [this, from, request](const state::apply_result* result) {
    // Applied, or refused as no longer making sense (the job ended): either way decided.
    if (result)
      send(from, answer{request, true, false, result->job_id, result->error});
    else
      send(from, answer{request, false, false, "", "outcome unknown"});
  });
}

void master_host::deliver(const std::string& from, const message& m, uint64_t now) {
  now_ = now;
  if (!masters_.up(id_))
    return;
  if (const auto* r = std::get_if<register_slave>(&m))
    on_register(from, *r, now);
  else if (const auto* r = std::get_if<job_reports>(&m))
    on_reports(from, *r, now);
  else if (const auto* p = std::get_if<ping>(&m))
    send(from, pong{leading() && slaves_.heard(p->node_id, ms(now))});
  else if (const auto* c = std::get_if<connection_closed>(&m)) {
    auto node = slaves_.node_of(c->connection);
    if (auto lost
        = node.empty() ? std::nullopt : slaves_.lose(node, "its connection to the leader closed"))
      propose(std::move(lost->entry), [](const state::apply_result*) {});
  } else
    on_client(from, m);
}

void master_host::place_submissions() {
  auto batch = std::move(submissions_);
  submissions_.clear();
  std::vector<pb::JobSpec> specs;
  for (const auto& s : batch)
    specs.push_back(s.spec);
  auto plans = queue_.plan_submissions(std::move(specs));
  for (size_t i = 0; i < plans.size(); ++i) {
    const auto client = batch[i].client;
    const auto request = batch[i].request;
    if (!plans[i].refusal.empty()) {
      send(client, answer{request, true, false, "", plans[i].refusal});
      continue;
    }
    if (!plans[i].follows.empty()) {
      followers_[plans[i].follows].push_back({client, request});
      continue;
    }
    auto plan = std::make_shared<sched::pending_queue::submission_plan>(std::move(plans[i]));
    propose(plan->entry, [this, client, request, plan](const state::apply_result* result) {
      queue_.submission_answered(*plan);
      answer a{request, false, false, "", "outcome unknown"};
      if (result) {
        if (const auto* job = state().find_live_job(result->job_id);
            job && job->state() == pb::JOB_PENDING)
          pass_requested_ = true;
        a = answer{request, result->applied, false, result->job_id, result->error};
      }
      send(client, a);
      // The retries that followed it get the same answer.
      auto f = followers_.find(plan->entry.job_submitted().spec().idempotency_key());
      if (f == followers_.end())
        return;
      for (const auto& [follower, follower_request] : f->second) {
        a.request = follower_request;
        send(follower, a);
      }
      followers_.erase(f);
    });
  }
}

void master_host::pass(uint64_t now) {
  pass_requested_ = false;
  auto plan = queue_.pass(ms(now));
  for (auto& placement : plan.placements) {
    auto entry = placement.entry;
    propose(std::move(entry), [this, placement](const state::apply_result* result) {
      auto wake = queue_.placement_answered(placement, result && result->applied, ms(now_));
      if (wake != 0 && (wake_at_ms_ == 0 || wake < wake_at_ms_))
        wake_at_ms_ = wake;
    });
  }
  pass_requested_ |= plan.more;
  if (plan.wake_at_ms != 0 && (wake_at_ms_ == 0 || plan.wake_at_ms < wake_at_ms_))
    wake_at_ms_ = plan.wake_at_ms;
}

void master_host::tick(uint64_t now) {
  now_ = now;
  follow_role(now);
  if (!leading())
    return;
  if (now >= next_heartbeat_check_) {
    next_heartbeat_check_ = now + static_cast<uint64_t>(timing_.slave_timeout_steps / 4);
    for (auto& lost : slaves_.lose_silent(ms(now)))
      propose(std::move(lost.entry), [](const state::apply_result*) {});
  }
  if (grace_ends_ != 0 && now >= grace_ends_) {
    grace_ends_ = 0;
    pb::NodeList nodes;
    for (const auto& [id, node] : state().nodes())
      *nodes.add_nodes() = node;
    auto registered = [this](const std::string& id) { return slaves_.registered(id); };
    for (auto& entry : sched::lost_after_grace(
             nodes, registered, timing_.registration_grace_steps * cluster::ms_per_step))
      propose(std::move(entry), [](const state::apply_result*) {});
  }
  if (!submissions_.empty())
    place_submissions();
  if (wake_at_ms_ != 0 && ms(now) >= wake_at_ms_) {
    wake_at_ms_ = 0;
    pass_requested_ = true;
  }
  if (pass_requested_)
    pass(now);
  for (const auto& m : slaves_.take_starts())
    send_to_slave(m);
}

} // namespace claud::sim
