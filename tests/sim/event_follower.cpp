#include "event_follower.hpp"

#include <fmt/format.h>

#include "checker.hpp"

namespace claud::sim {

namespace {

/// Small bounds, so that a slow subscriber falls behind and a history is outrun within a run.
state::feed_limits sim_feed_limits() {
  state::feed_limits limits;
  limits.history_events = 400;
  limits.max_lag_events = 150;
  limits.max_batch_events = 40;
  limits.lease_ms = 2000;
  limits.keepalive_ms = 500;
  return limits;
}

/// How many polls one step may make of a feed (each answer is acknowledged at once).
constexpr int polls_per_step = 4;

} // namespace

event_follower::event_follower(uint64_t seed) : rng_(seed) {}

void event_follower::on_output(const std::string& master, const replica::output& out,
                               const state::cluster_state& state) {
  for (const auto& applied : out.applied) {
    std::vector<std::string> made;
    for (const auto& event : applied.events)
      made.push_back(event.SerializeAsString());
    const auto index = applied.entry.index();
    auto [known, fresh] = told_.emplace(index, made);
    if (!fresh && known->second != made)
      throw invariant_violation(
          fmt::format("{} made {} events of index {}, another master {} (or others)", master,
                      made.size(), index, known->second.size()));
  }
  // A replica applies an index once in its life: one applied again is a master that went down
  // and came back between two of the world's looks at it, with a fresh hub.
  if (auto known = feeds_.find(master);
      known != feeds_.end() && !out.applied.empty()
      && out.applied.front().entry.index() <= known->second->applied())
    on_reset(master);
  auto& feed = feeds_[master];
  if (!feed) { // a master (re)started: its history begins with what it holds now, as a hub's
    if (out.applied.empty() && !out.snapshot_installed) {
      feeds_.erase(master);
      return;
    }
    const auto start
        = out.snapshot_installed ? state.applied_index() : out.applied.front().entry.index() - 1;
    feed = std::make_unique<state::event_feed>(sim_feed_limits());
    feed->append(start, start, {});
  }
  // As leader_election tells its hub: a snapshot installed is a gap the history starts after.
  if (out.snapshot_installed) {
    feed->append(state.applied_index(), state.applied_index(), {});
    return;
  }
  if (out.applied.empty())
    return;
  std::vector<pb::Event> events;
  for (const auto& applied : out.applied)
    events.insert(events.end(), applied.events.begin(), applied.events.end());
  feed->append(feed->applied(), out.applied.back().entry.index(), std::move(events));
}

void event_follower::on_reset(const std::string& master) {
  feeds_.erase(master);
  if (at_ == master) {
    at_.clear();
    subscription_ = 0;
  }
}

void event_follower::subscribe(int64_t now_ms) {
  if (feeds_.empty())
    return;
  auto chosen = feeds_.begin();
  std::advance(chosen, static_cast<long>(rng_.below(feeds_.size())));
  pb::Subscribe request; // everything, from the last index seen, once that master holds it
  request.set_from(last_);
  request.set_min_index(last_);
  auto result = chosen->second->subscribe(request, now_ms);
  if (result.subscription == 0)
    return;
  at_ = chosen->first;
  subscription_ = result.subscription;
  in_snapshot_ = false; // a snapshot cut short by a move is asked for again by the next master
  ++counts_.moves;
}

void event_follower::take(const pb::EventBatch& batch) {
  ++counts_.batches;
  if (batch.missed_from() != 0) {
    // The feed passes entries without events without a batch, so it may say missed from
    // beyond them; an index between that made events was skipped silently.
    for (auto i = told_.upper_bound(last_); i != told_.end() && i->first < batch.missed_from(); ++i)
      if (!i->second.empty())
        throw invariant_violation(fmt::format(
            "a batch says events were missed from index {}, but the subscriber had only those "
            "through {}: index {}'s {} events were skipped silently",
            batch.missed_from(), last_, i->first, i->second.size()));
    in_snapshot_ = true;
  }
  if (batch.snapshot()) {
    if (!in_snapshot_ && last_ != 0)
      throw invariant_violation(fmt::format(
          "a snapshot at index {} came to a subscriber streaming from {} without a missed notice",
          batch.index(), last_));
    in_snapshot_ = true;
    if (batch.snapshot_done()) {
      if (batch.index() < last_)
        throw invariant_violation(fmt::format(
            "a snapshot at index {} went back from index {} already seen", batch.index(), last_));
      last_ = batch.index();
      in_snapshot_ = false;
      ++counts_.snapshots;
    }
    return;
  }
  if (!batch.ended().empty())
    return;
  if (in_snapshot_)
    throw invariant_violation(
        fmt::format("a stream batch to index {} came in the middle of a snapshot", batch.index()));
  if (batch.index() < last_)
    throw invariant_violation(
        fmt::format("a batch to index {} came after index {} was seen", batch.index(), last_));
  std::map<uint64_t, std::vector<std::string>> got;
  for (const auto& event : batch.events()) {
    if (event.index() <= last_ || event.index() > batch.index())
      throw invariant_violation(fmt::format(
          "an event of index {} came in a batch after index {} and to index {}: a duplicate or "
          "out of order",
          event.index(), last_, batch.index()));
    got[event.index()].push_back(event.SerializeAsString());
    ++counts_.events;
  }
  for (auto i = told_.upper_bound(last_); i != told_.end() && i->first <= batch.index(); ++i) {
    auto received = got.find(i->first);
    const auto none = std::vector<std::string>{};
    const auto& have = received == got.end() ? none : received->second;
    if (have != i->second)
      throw invariant_violation(
          fmt::format("index {} made {} events; the subscriber at {} got {} of them in its stream",
                      i->first, i->second.size(), at_, have.size()));
  }
  last_ = batch.index();
}

void event_follower::serve_snapshots(const std::vector<uint64_t>& wanted, const std::string& master,
                                     const state::cluster_state& state) {
  auto& feed = *feeds_.at(master);
  for (auto id : wanted)
    feed.snapshot_ready(id, state.applied_index(),
                        state::snapshot_events(state, *feed.filter_of(id)));
}

void event_follower::tick(
    int64_t now_ms, const std::function<const state::cluster_state*(const std::string&)>& states) {
  if (now_ms < slow_until_ms_)
    return;
  if (!at_.empty() && rng_.chance(0.002)) { // moves on, as after a silence
    feeds_.at(at_)->remove(subscription_);
    at_.clear();
  }
  if (rng_.chance(0.002)) { // too busy to read for a while
    slow_until_ms_ = now_ms + rng_.between(200, 4000);
    return;
  }
  if (at_.empty())
    subscribe(now_ms);
  if (at_.empty())
    return;
  for (int poll = 0; poll < polls_per_step && !at_.empty(); ++poll) {
    auto& feed = *feeds_.at(at_);
    auto out = feed.poll(now_ms);
    if (const auto* state = states(at_))
      serve_snapshots(out.snapshots_wanted, at_, *state);
    bool dropped = false;
    for (const auto& [id, batch] : out.batches) {
      if (id != subscription_)
        continue;
      take(*batch);
      if (!batch->ended().empty())
        dropped = true;
      else
        feed.acknowledge(id, batch->index(), now_ms);
    }
    for (auto id : out.dropped)
      dropped = dropped || id == subscription_;
    if (dropped) {
      at_.clear();
      subscription_ = 0;
    }
    if (out.batches.empty() && out.snapshots_wanted.empty())
      break;
  }
}

void event_follower::check_end(
    const std::string& leader, int64_t now_ms,
    const std::function<const state::cluster_state*(const std::string&)>& states) {
  const auto target = states(leader)->applied_index();
  slow_until_ms_ = 0;
  for (int i = 0; i < 5000 && (last_ < target || in_snapshot_); ++i) {
    now_ms += 10;
    if (at_.empty())
      subscribe(now_ms);
    if (at_.empty())
      continue;
    auto& feed = *feeds_.at(at_);
    auto out = feed.poll(now_ms);
    serve_snapshots(out.snapshots_wanted, at_, *states(at_));
    for (const auto& [id, batch] : out.batches) {
      if (id != subscription_)
        continue;
      take(*batch);
      if (batch->ended().empty())
        feed.acknowledge(id, batch->index(), now_ms);
      else
        at_.clear();
    }
  }
  if (last_ < target)
    throw invariant_violation(fmt::format(
        "the event subscriber reached index {} of the leader's {} once the cluster settled", last_,
        target));
}

} // namespace claud::sim
