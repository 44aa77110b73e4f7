#include "client_sim.hpp"

#include <fmt/format.h>

namespace claud::sim {

namespace {

/// How long a client waits for an answer before it asks again (the client library's attempt
/// timeout).
constexpr uint64_t answer_timeout_steps = 40;

} // namespace

client_sim::client_sim(std::string id, std::vector<std::string> masters, uint64_t seed)
    : id_(std::move(id)), masters_(std::move(masters)), rng_(seed) {
  leader_guess_ = rng_.pick(masters_);
}

void client_sim::send_request(uint64_t id, uint64_t now, const send_fn& send) {
  auto& r = requests_.at(id);
  r.to = leader_guess_;
  r.sent_at = now;
  r.due = false;
  send(r.to, r.body);
}

void client_sim::submit(uint64_t now, int64_t max_cpu_millis, const send_fn& send) {
  pb::JobSpec spec;
  auto key = fmt::format("{}-k{}", id_, next_key_++);
  spec.set_name(key);
  spec.add_argv("sim-job");
  spec.set_idempotency_key(key);
  // Mostly small jobs, now and then one that needs most of a slave.
  spec.set_cpu_millis(rng_.chance(0.1)
                          ? rng_.between(1, std::max<int64_t>(1, max_cpu_millis / 100)) * 100
                          : rng_.between(1, 10) * 100);
  spec.set_memory_bytes(rng_.between(1, 4) << 20);
  const double policy = rng_.unit();
  spec.set_restart(policy < 0.4   ? pb::RESTART_NEVER
                   : policy < 0.8 ? pb::RESTART_ON_FAILURE
                                  : pb::RESTART_ALWAYS);
  // Every job ends: a restarting one has a bound on its attempts.
  spec.set_max_attempts(static_cast<uint32_t>(rng_.between(1, 3)));
  spec.set_fail_on_node_lost(rng_.chance(0.3));
  spec.set_backoff_base_ms(rng_.between(2, 10) * 10);
  // Now and then after a job it was told of (which may be running, ended or, at worst, gone).
  if (!acknowledged_.empty() && rng_.chance(0.3)) {
    auto named = acknowledged_.begin();
    std::advance(named, static_cast<long>(rng_.below(acknowledged_.size())));
    auto* dependency = spec.add_after();
    dependency->set_job_id(named->second);
    dependency->set_condition(static_cast<pb::DependencyCondition>(rng_.below(3)));
  }
  specs_[key] = spec;
  auto id = next_request_++;
  requests_[id] = {submit_job{id, std::move(spec)}, "", now, false};
  send_request(id, now, send);
}

void client_sim::kill(uint64_t now, const send_fn& send) {
  if (acknowledged_.empty())
    return;
  auto i = acknowledged_.begin();
  std::advance(i, static_cast<long>(rng_.below(acknowledged_.size())));
  auto id = next_request_++;
  requests_[id] = {kill_job{id, i->second}, "", now, false};
  send_request(id, now, send);
}

void client_sim::drain(const std::string& node_id, bool draining, uint64_t now,
                       const send_fn& send) {
  auto id = next_request_++;
  requests_[id] = {drain_node{id, node_id, draining}, "", now, false};
  send_request(id, now, send);
}

void client_sim::deliver(const std::string& from, const message& m, uint64_t) {
  const auto* a = std::get_if<answer>(&m);
  if (!a)
    return;
  auto i = requests_.find(a->request);
  if (i == requests_.end() || i->second.to != from)
    return; // answered already, or a stale answer from a master asked before
  if (a->not_leader) {
    leader_guess_.clear(); // ask whoever leads at the next tick
    i->second.due = true;
    return;
  }
  if (!a->ok && a->error == "outcome unknown") {
    i->second.due = true; // the same request again, under the same key
    return;
  }
  if (const auto* s = std::get_if<submit_job>(&i->second.body)) {
    const auto& key = s->spec.idempotency_key();
    if (a->ok)
      acknowledged_[key] = a->job_id;
    else
      refused_.insert(key);
  }
  requests_.erase(i);
}

void client_sim::tick(uint64_t now, const std::string& leader, const send_fn& send) {
  if (!leader.empty())
    leader_guess_ = leader;
  if (leader_guess_.empty())
    leader_guess_ = rng_.pick(masters_);
  std::vector<uint64_t> again;
  for (auto& [id, r] : requests_)
    if (r.due || now - r.sent_at > answer_timeout_steps)
      again.push_back(id);
  for (auto id : again) {
    ++retries_;
    send_request(id, now, send);
  }
}

} // namespace claud::sim
