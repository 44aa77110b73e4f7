#include "fault_driver.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace claud::sim {

run_parameters draw_parameters(prng& rng, int masters) {
  run_parameters p;
  p.election_ticks = static_cast<int>(rng.between(8, 14));
  p.heartbeat_ticks = static_cast<int>(rng.between(1, 2));
  p.snapshot_every = static_cast<uint64_t>(rng.between(8, 40));
  // Small batches make a catching-up follower take many appends, each a chance to lose one.
  p.max_entries_per_message = rng.chance(0.5) ? 256 : static_cast<size_t>(rng.between(1, 4));
  p.network.loss = rng.chance(0.2) ? 0 : rng.unit() * 0.2;
  p.network.duplicate = rng.chance(0.3) ? 0 : rng.unit() * 0.1;
  p.network.min_delay_steps = 1;
  // Now and then delays beyond an election timeout: messages of old terms arrive very late.
  p.network.max_delay_steps
      = static_cast<int>(rng.chance(0.1) ? rng.between(8, 20) : rng.between(1, 6));
  p.partition_probability = 0.002 + rng.unit() * 0.02;
  p.heal_probability = 0.01 + rng.unit() * 0.08;
  // One draw per statement: the order in which operands are evaluated is unspecified in C++.
  const double crash_scale = rng.chance(0.2) ? 0.08 : 0.02;
  p.crash_probability = rng.chance(0.1) ? 0 : rng.unit() * crash_scale;
  const int tolerated = (masters - 1) / 2;
  p.max_down = rng.chance(0.25) ? masters : tolerated;
  p.long_outage_probability = rng.unit() * 0.4;
  p.bounce_probability = rng.unit() * 0.5;
  p.election_crash_probability = rng.chance(0.5) ? 0 : rng.unit() * 0.5;
  p.torn_probability = rng.unit() * 0.6;
  p.after_sync_probability = rng.unit() * 0.2;
  p.hint_probability = rng.chance(0.3) ? 0 : rng.unit();
  p.spurious_hint_probability = rng.chance(0.5) ? 0 : rng.unit() * 0.02;
  p.propose_probability = 0.05 + rng.unit() * 0.4;
  p.read_probability = rng.unit() * 0.1;
  p.membership_probability = rng.chance(0.5) ? 0 : 0.002 + rng.unit() * 0.02;
  p.initial_voters
      = p.membership_probability > 0 && masters > 1 && rng.chance(0.5) ? masters - 1 : masters;
  for (int i = 0; i < masters; ++i)
    p.tick_probability.push_back(rng.chance(0.5) ? 1.0 : 0.6 + rng.unit() * 0.4);
  return p;
}

std::string describe(const run_parameters& p) {
  return fmt::format(
      "election_ticks={} heartbeat_ticks={} snapshot_every={} batch={} loss={:.3f} "
      "duplicate={:.3f} delay_steps=1..{} partition={:.4f} heal={:.3f} crash={:.4f} max_down={} "
      "long_outage={:.2f} bounce={:.2f} election_crash={:.2f} torn={:.2f} after_sync={:.2f} "
      "hint={:.2f} spurious_hint={:.3f} propose={:.3f} read={:.3f} membership={:.4f} "
      "initial_voters={} ticks=[{:.2f}]",
      p.election_ticks, p.heartbeat_ticks, p.snapshot_every, p.max_entries_per_message,
      p.network.loss, p.network.duplicate, p.network.max_delay_steps, p.partition_probability,
      p.heal_probability, p.crash_probability, p.max_down, p.long_outage_probability,
      p.bounce_probability, p.election_crash_probability, p.torn_probability,
      p.after_sync_probability, p.hint_probability, p.spurious_hint_probability,
      p.propose_probability, p.read_probability, p.membership_probability, p.initial_voters,
      fmt::join(p.tick_probability, ","));
}

void fault_driver::before_step() {
  restarts();
  if (rng_.chance(p_.partition_probability))
    partition();
  else if (!t_.net().healed() && rng_.chance(p_.heal_probability))
    t_.heal();
  if (rng_.chance(p_.crash_probability))
    crash();
  election_crash();
  if (rng_.chance(p_.membership_probability))
    change_membership();
  if (rng_.chance(p_.spurious_hint_probability))
    t_.hint_leader_unreachable(any_master());
  clients();
}

std::string fault_driver::any_master() {
  return rng_.pick(t_.ids());
}

std::string fault_driver::leader_or_any() {
  auto leader = t_.leader();
  return leader.empty() ? any_master() : leader;
}

void fault_driver::partition() {
  const auto& ids = t_.ids();
  switch (rng_.below(6)) {
  case 0:
    t_.isolate(any_master());
    break;
  case 1:
    t_.isolate(leader_or_any());
    break;
  case 2: { // a symmetric split, the smaller side drawn at random
    std::vector<std::string> shuffled = ids;
    for (size_t i = shuffled.size(); i > 1; --i)
      std::swap(shuffled[i - 1], shuffled[rng_.below(i)]);
    shuffled.resize(1 + rng_.below(ids.size() / 2));
    t_.partition(shuffled);
    break;
  }
  case 3: // one-way links at random
    for (const auto& from : ids)
      for (const auto& to : ids)
        if (from != to && rng_.chance(0.25))
          t_.cut(from, to);
    break;
  case 4: { // the leader can send but not receive
    auto leader = leader_or_any();
    for (const auto& from : ids)
      if (from != leader)
        t_.cut(from, leader);
    break;
  }
  default: { // the leader can receive but not send
    auto leader = leader_or_any();
    for (const auto& to : ids)
      if (to != leader)
        t_.cut(leader, to);
    break;
  }
  }
}

std::vector<std::string> fault_driver::crashable() {
  int faulty = 0;
  std::vector<std::string> candidates;
  for (const auto& id : t_.ids()) {
    if (!t_.up(id) || t_.crashing(id))
      ++faulty;
    else
      candidates.push_back(id);
  }
  if (faulty >= p_.max_down)
    candidates.clear();
  return candidates;
}

void fault_driver::crash() {
  auto candidates = crashable();
  if (candidates.empty())
    return;
  // The leader crashes more often than its share: that is where the protocol works hardest.
  auto leader = t_.leader();
  auto victim = !leader.empty() && rng_.chance(0.4) ? leader : rng_.pick(candidates);
  const double mode = rng_.unit();
  if (mode < p_.torn_probability)
    t_.crash(victim, crash_mode::torn_write);
  else if (mode < p_.torn_probability + p_.after_sync_probability)
    t_.crash(victim, crash_mode::after_sync);
  else
    t_.crash(victim, crash_mode::now);
}

void fault_driver::election_crash() {
  for (const auto& id : t_.ids()) {
    if (!t_.up(id) || t_.role(id) != raft::role::candidate || t_.term(id) <= candidate_term_)
      continue;
    candidate_term_ = t_.term(id);
    if (!rng_.chance(p_.election_crash_probability))
      continue;
    auto candidates = crashable();
    candidates.erase(std::remove(candidates.begin(), candidates.end(), id), candidates.end());
    if (candidates.empty())
      continue;
    const auto victim = rng_.pick(candidates);
    crash_at_[victim] = t_.now() + static_cast<uint64_t>(rng_.between(1, 3));
  }
  for (auto it = crash_at_.begin(); it != crash_at_.end();) {
    if (it->second > t_.now()) {
      ++it;
      continue;
    }
    if (t_.up(it->first) && !t_.crashing(it->first)) {
      t_.crash(it->first, crash_mode::now);
      restart_at_[it->first] = t_.now() + static_cast<uint64_t>(rng_.between(1, 3));
    }
    it = crash_at_.erase(it);
  }
}

void fault_driver::restarts() {
  for (const auto& id : t_.ids()) {
    if (t_.up(id)) {
      restart_at_.erase(id);
      continue;
    }
    auto it = restart_at_.find(id);
    if (it == restart_at_.end()) {
      // A long outage outlasts several snapshots, so the master comes back behind the leader's
      // compacted log and needs a snapshot.
      // A bounce (back within a few steps, often inside the same election) tests what must
      // survive a restart: the vote above all.
      const double kind = rng_.unit();
      const auto outage = kind < p_.long_outage_probability ? rng_.between(150, 500)
                          : kind < p_.long_outage_probability + p_.bounce_probability
                              ? rng_.between(1, 5)
                              : rng_.between(6, 60);
      restart_at_[id] = t_.now() + static_cast<uint64_t>(outage);
    } else if (t_.now() >= it->second) {
      restart_at_.erase(it);
      t_.restart(id);
    }
  }
}

void fault_driver::change_membership() {
  const auto leader = t_.leader();
  if (leader.empty())
    return;
  std::vector<std::string> inside, outside;
  for (const auto& id : t_.ids())
    (t_.member(id) ? inside : outside).push_back(id);
  if (!outside.empty() && (inside.size() <= 2 || rng_.chance(0.6))) {
    const auto who = rng_.pick(outside);
    if (!t_.up(who) && rng_.chance(0.5))
      t_.wipe(who);
    t_.change_membership(leader, pb::MembershipChange::ADD_LEARNER, who);
  } else if (inside.size() > 1) {
    t_.change_membership(leader, pb::MembershipChange::REMOVE, rng_.pick(inside));
  }
}

void fault_driver::clients() {
  if (rng_.chance(p_.propose_probability))
    t_.propose(rng_.chance(0.85) ? leader_or_any() : any_master(), rng_.chance(0.2));
  if (rng_.chance(p_.read_probability))
    t_.read(leader_or_any());
}

} // namespace claud::sim
