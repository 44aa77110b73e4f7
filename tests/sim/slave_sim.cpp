#include "slave_sim.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace claud::sim {

slave_sim::slave_sim(std::string id, uint64_t incarnation, int64_t cpu_millis, int64_t memory_bytes,
                     std::vector<std::string> masters, uint64_t seed,
                     const lifecycle_timing& timing)
    : id_(std::move(id)), incarnation_(incarnation), cpu_millis_(cpu_millis),
      memory_bytes_(memory_bytes), masters_(std::move(masters)), rng_(seed), timing_(timing) {}

std::string slave_sim::connection() const {
  return fmt::format("{}#{}", id_, generation_);
}

pb::Node slave_sim::node() const {
  pb::Node n;
  n.set_id(id_);
  n.set_role(pb::ROLE_SLAVE);
  n.set_state(pb::NODE_ALIVE);
  n.set_incarnation(incarnation_);
  n.set_address(connection());
  n.set_cpu_millis_total(cpu_millis_);
  n.set_memory_bytes_total(memory_bytes_);
  return n;
}

size_t slave_sim::alive_processes() const {
  return static_cast<size_t>(std::count_if(processes_.begin(), processes_.end(),
                                           [](const auto& p) { return p.second.alive; }));
}

void slave_sim::start(const pb::Job& job, uint64_t now, const slave_events& events) {
  const slave::attempt_key attempt{job.id(), job.attempts()};
  const int64_t now_ms = static_cast<int64_t>(now) * cluster::ms_per_step;
  auto plan = book_.plan_start(job, journal_.count({job.id(), job.attempts()}) != 0);
  if (plan.stop_older)
    stop(*plan.stop_older, now);
  switch (plan.action) {
  case slave::attempt_book::start_action::nothing:
  case slave::attempt_book::start_action::report_again:
    return;
  case slave::attempt_book::start_action::refuse:
    book_.spawn_failed(attempt, "started by an earlier run of this slave", now_ms);
    return;
  case slave::attempt_book::start_action::spawn:
    break;
  }
  const int64_t pid = next_pid_++;
  auto out = book_.open_stream(attempt);
  auto err = book_.open_stream(attempt);
  if (rng_.chance(0.03)) { // exec failed: the pipes close unread
    book_.stream_closed(out);
    book_.stream_closed(err);
    book_.spawn_failed(attempt, "cannot execute: no such file", now_ms);
    return;
  }
  journal_.insert({job.id(), job.attempts()});
  fake_process p;
  p.slave = id_;
  p.job_id = job.id();
  p.attempt = job.attempts();
  p.started = now;
  p.ends_at
      = now
        + static_cast<uint64_t>(rng_.chance(0.1) ? rng_.between(100, 300) : rng_.between(1, 40));
  const double outcome = rng_.unit();
  p.exited = outcome < 0.9;
  p.code = outcome < 0.7 ? 0 : (p.exited ? 1 : 0);
  p.signal = p.exited ? 0 : 9;
  p.ignores_term = rng_.chance(0.1);
  // A child the job left behind may hold its pipes past the output wait.
  p.streams_close_at
      = p.ends_at + static_cast<uint64_t>(rng_.chance(0.05) ? 1000 : rng_.between(0, 2));
  processes_[pid] = p;
  stream_owner_[out] = pid;
  stream_owner_[err] = pid;
  book_.spawned(attempt, pid, now_ms);
  timers_.push_back({now + static_cast<uint64_t>(timing_.started_report_delay_steps),
                     timer_kind::started_delay, attempt});
  if (events.spawned)
    events.spawned(id_, job);
}

void slave_sim::stop(const slave::attempt_key& attempt, uint64_t now) {
  auto pid = book_.pid_of(attempt);
  auto p = processes_.find(pid);
  if (pid == 0 || p == processes_.end() || !p->second.alive)
    return;
  p->second.signalled = true;
  if (!p->second.ignores_term && p->second.ends_at > now + 1) {
    p->second.ends_at = now + 1;
    p->second.exited = false;
    p->second.signal = 15;
    p->second.streams_close_at = std::min(p->second.streams_close_at, now + 1);
  }
  timers_.push_back(
      {now + static_cast<uint64_t>(timing_.kill_grace_steps), timer_kind::escalate, attempt});
}

void slave_sim::reap(uint64_t now) {
  const int64_t now_ms = static_cast<int64_t>(now) * cluster::ms_per_step;
  for (auto& [pid, p] : processes_) {
    if (!p.alive || p.ends_at > now)
      continue;
    p.alive = false;
    if (!p.supervised)
      continue; // an orphan: nobody waits for it
    auto outcome = book_.exited(pid, p.exited, p.code, p.signal, false, now_ms);
    if (outcome.waits_for_output)
      timers_.push_back({now + static_cast<uint64_t>(timing_.output_wait_steps),
                         timer_kind::output_wait, outcome.attempt});
  }
  for (auto i = stream_owner_.begin(); i != stream_owner_.end();) {
    const auto& p = processes_.at(i->second);
    if (p.streams_close_at <= now && !p.alive) {
      book_.stream_closed(i->first);
      i = stream_owner_.erase(i);
    } else {
      ++i;
    }
  }
  std::vector<timer> due;
  for (auto i = timers_.begin(); i != timers_.end();)
    if (i->due <= now) {
      due.push_back(*i);
      i = timers_.erase(i);
    } else {
      ++i;
    }
  for (const auto& t : due) {
    switch (t.kind) {
    case timer_kind::started_delay:
      book_.started_delay_over(t.attempt);
      break;
    case timer_kind::output_wait:
      book_.output_wait_over(t.attempt);
      break;
    case timer_kind::escalate:
      if (auto pid = book_.pid_of(t.attempt); pid != 0) {
        auto& p = processes_.at(pid);
        if (p.alive && p.ends_at > now) {
          p.ends_at = now + 1;
          p.exited = false;
          p.signal = 9;
        }
      }
      break;
    }
  }
}

void slave_sim::link(uint64_t now, const send_fn& send, const slave_events& events) {
  auto note = [&](const std::string& what) {
    if (events.note)
      events.note(fmt::format("slave {} {}", id_, what));
  };
  if (registered_with_.empty()) {
    if (!registering_with_.empty() && now <= register_deadline_)
      return;
    // Not answered: a slow master, not a gone one (that closes the connection; a deposed one is
    // replaced by leader_is), so it is asked again (slave_link does the same).
    if (!registering_with_.empty())
      note(fmt::format("had no answer from {} to its registration: asks again", registering_with_));
    else
      registering_with_ = leader_hint_;
    if (registering_with_.empty()) // each master in turn
      registering_with_ = masters_[next_master_++ % masters_.size()];
    leader_hint_.clear();
    register_deadline_ = now + static_cast<uint64_t>(timing_.register_timeout_steps);
    pb::SlaveReport report = book_.full_report();
    *report.mutable_node() = node();
    send(registering_with_, register_slave{report, connection()});
    note(fmt::format("registers with {}", registering_with_));
    return;
  }
  if (ping_deadline_ != 0 && now > ping_deadline_) {
    note(fmt::format("had no answer from {} to its ping", registered_with_));
    drop_registration(); // the leader went silent: find the leader again
    return;
  }
  if (ping_deadline_ == 0 && now >= next_ping_) {
    ping_deadline_ = now + static_cast<uint64_t>(timing_.ping_timeout_steps);
    send(registered_with_, ping{id_});
  }
}

void slave_sim::send_reports(uint64_t now, const send_fn& send) {
  for (auto i = outstanding_.begin(); i != outstanding_.end();)
    i = i->second.first < now ? outstanding_.erase(i) : std::next(i);
  if (!book_.reports_queued())
    return;
  auto batch = book_.take_reports();
  if (registered_with_.empty())
    return; // unacknowledged: sent again after the next registration
  auto seq = next_report_seq_++;
  outstanding_[seq] = {now + static_cast<uint64_t>(timing_.report_timeout_steps), batch};
  send(registered_with_, job_reports{id_, std::move(batch), seq});
}

void slave_sim::tick(uint64_t now, const send_fn& send, const slave_events& events) {
  if (!up_ || frozen_)
    return;
  reap(now);
  link(now, send, events);
  send_reports(now, send);
}

void slave_sim::deliver(const std::string& from, const message& m, uint64_t now,
                        const send_fn& send, const slave_events& events) {
  if (const auto* r = std::get_if<registration_answer>(&m)) {
    if (r->connection != connection() || from != registering_with_)
      return;
    registering_with_.clear();
    leader_hint_ = r->leader; // a follower names the leader it knows
    if (!r->ok && r->not_leader && r->leader.empty() && from == followed_)
      leader_hint_ = std::exchange(followed_, {}); // named before it knew: asked again, once
    if (events.note)
      events.note(fmt::format(
          "slave {} {} by {}", id_,
          r->ok ? "registered" : (r->not_leader ? "redirected" : "not registered"), from));
    if (r->ok) {
      registered_with_ = from;
      next_ping_ = now + static_cast<uint64_t>(timing_.ping_every_steps);
      book_.resend_unacknowledged();
    } else if (!r->refusal.empty() && events.refused) {
      events.refused(id_, r->refusal);
    }
  } else if (const auto* r = std::get_if<reports_answer>(&m)) {
    auto i = outstanding_.find(r->seq);
    if (i == outstanding_.end())
      return;
    if (r->ok)
      for (const auto& attempt : book_.acknowledge(i->second.second))
        journal_.erase({attempt.job_id, attempt.attempt});
    outstanding_.erase(i);
  } else if (const auto* p = std::get_if<pong>(&m)) {
    if (from != registered_with_)
      return;
    ping_deadline_ = 0;
    next_ping_ = now + static_cast<uint64_t>(timing_.ping_every_steps);
    if (!p->registered)
      drop_registration();
  } else if (const auto* s = std::get_if<start_jobs>(&m)) {
    if (s->connection != connection())
      return; // for an earlier process of this slave
    for (const auto& job : s->batch.jobs())
      start(job, now, events);
  } else if (const auto* k = std::get_if<kill_attempt>(&m)) {
    if (k->connection == connection())
      stop({k->job_id, k->attempt}, now);
  } else if (const auto* l = std::get_if<leader_is>(&m)) {
    if (l->term <= leader_term_)
      return;
    leader_term_ = l->term;
    if (registered_with_ != from) {
      drop_registration();
      leader_hint_ = from;
      followed_ = from;
    }
  } else if (const auto* c = std::get_if<connection_closed>(&m)) {
    if (c->connection == registered_with_ || c->connection == registering_with_)
      drop_registration();
  }
  send_reports(now, send);
}

void slave_sim::crash(uint64_t) {
  up_ = false;
  frozen_ = false;
  for (auto& [pid, p] : processes_)
    if (p.alive)
      p.supervised = false;
  book_ = slave::attempt_book{};
  stream_owner_.clear();
  timers_.clear();
  outstanding_.clear();
  drop_registration();
  leader_hint_.clear();
  followed_.clear();
  leader_term_ = 0;
}

void slave_sim::restart(uint64_t) {
  up_ = true;
  ++generation_;
}

} // namespace claud::sim
