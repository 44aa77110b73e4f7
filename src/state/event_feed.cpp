#include "state/event_feed.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace claud::state {

event_feed::event_feed(feed_limits limits) : limits_(limits) {
  if (limits_.max_lag_events > limits_.history_events)
    limits_.max_lag_events = limits_.history_events;
}

void event_feed::append(uint64_t after, uint64_t up_to, std::vector<pb::Event> events) {
  if (!applied_ || *applied_ != after) {
    history_.clear(); // a gap, or the first entries this master applied: the history starts here
    start_ = after;
  }
  applied_ = up_to;
  for (auto& event : events)
    history_.push_back(std::move(event));
  trim_history();
  check_positions();
}

void event_feed::trim_history() {
  if (history_.size() <= limits_.history_events)
    return;
  // Whole entries leave, so the history holds all the events of every entry after start_.
  auto cut = history_.begin() + static_cast<long>(history_.size() - limits_.history_events);
  start_ = std::prev(cut)->index();
  while (cut != history_.end() && cut->index() == start_)
    ++cut;
  history_.erase(history_.begin(), cut);
}

void event_feed::check_positions() {
  for (auto& [id, sub] : subs_) {
    if (sub.at != phase::streaming)
      continue;
    if (sub.position < start_)
      fall_back_to_snapshot(sub, sub.position + 1);
    else if (events_after(sub.position) > limits_.max_lag_events)
      fall_back_to_snapshot(sub, sub.position + 1);
  }
}

void event_feed::fall_back_to_snapshot(subscription& sub, uint64_t missed_from) {
  set_phase(sub, phase::needs_snapshot);
  sub.missed_from = missed_from;
}

std::deque<pb::Event>::const_iterator event_feed::first_after(uint64_t index) const {
  return std::upper_bound(history_.begin(), history_.end(), index,
                          [](uint64_t i, const pb::Event& e) { return i < e.index(); });
}

size_t event_feed::events_after(uint64_t index) const {
  return static_cast<size_t>(history_.end() - first_after(index));
}

event_feed::subscribe_result event_feed::subscribe(const pb::Subscribe& request, int64_t now_ms) {
  subscribe_result result;
  if (subs_.size() >= limits_.max_subscribers) {
    result.error = fmt::format("this master serves {} subscriptions already, its limit; retry "
                               "later or subscribe at another master",
                               subs_.size());
    result.overloaded = true;
    return result;
  }
  result.error = filter_error(request.filter(), limits_.filter);
  if (!result.error.empty())
    return result;
  subscription sub{request.filter()};
  sub.filter_key = request.filter().SerializeAsString();
  sub.min_index = request.min_index();
  sub.last_heard_ms = now_ms;
  sub.last_sent_ms = now_ms;
  sub.subscribed_ms = now_ms;
  sub.resume = request.has_from();
  sub.position = request.from();
  // Where it starts is decided once the master has applied min_index (waiting, in poll).
  sub.at = phase::waiting;
  result.subscription = ++next_id_;
  subs_.emplace(result.subscription, std::move(sub));
  return result;
}

bool event_feed::acknowledge(uint64_t id, uint64_t index, int64_t now_ms) {
  auto i = subs_.find(id);
  if (i == subs_.end())
    return false;
  auto& sub = i->second;
  sub.last_heard_ms = now_ms;
  if (sub.in_flight && index == sub.in_flight_index)
    sub.in_flight = false;
  return true;
}

void event_feed::remove(uint64_t id) {
  if (auto i = subs_.find(id); i != subs_.end()) {
    set_phase(i->second, phase::waiting); // no longer counted among the snapshots
    subs_.erase(i);
  }
}

const event_filter* event_feed::filter_of(uint64_t id) const {
  auto i = subs_.find(id);
  return i == subs_.end() ? nullptr : &i->second.filter;
}

event_feed::outgoing event_feed::poll(int64_t now_ms) {
  outgoing out;
  batch_cache made;
  for (auto i = subs_.begin(); i != subs_.end();)
    i = poll_one(i, now_ms, out, &made);
  return out;
}

event_feed::outgoing event_feed::poll(uint64_t subscription, int64_t now_ms) {
  outgoing out;
  if (auto i = subs_.find(subscription); i != subs_.end())
    poll_one(i, now_ms, out, nullptr);
  return out;
}

std::map<uint64_t, event_feed::subscription>::iterator
event_feed::poll_one(std::map<uint64_t, subscription>::iterator i, int64_t now_ms, outgoing& out,
                     batch_cache* made) {
  const auto id = i->first;
  auto& sub = i->second;
  std::string ended;
  if (now_ms - sub.last_heard_ms > limits_.lease_ms)
    ended = fmt::format("no acknowledgement within the {} ms lease", limits_.lease_ms);
  else if (sub.at == phase::waiting && now_ms - sub.subscribed_ms > limits_.lease_ms)
    ended = fmt::format("this master has applied the log up to index {} only, not {} yet; "
                        "subscribe at another master",
                        applied(), sub.min_index);
  if (!ended.empty()) {
    pb::EventBatch last;
    last.set_index(sub.position);
    last.set_ended(std::move(ended));
    out.batches.push_back({id, std::make_shared<const pb::EventBatch>(std::move(last))});
    out.dropped.push_back(id);
    set_phase(sub, phase::waiting); // no longer counted among the snapshots
    return subs_.erase(i);
  }
  if (sub.at == phase::waiting && applied_ && *applied_ >= sub.min_index) {
    // A subscriber that resumes far behind (it was frozen, then moved here) is as slow as one
    // that fell behind here: it gets the snapshot, not the whole history.
    if (sub.resume && sub.position >= start_
        && events_after(sub.position) <= limits_.max_lag_events)
      sub.at = phase::streaming;
    else
      fall_back_to_snapshot(sub, sub.resume ? sub.position + 1 : 0);
  }
  if (sub.at == phase::needs_snapshot && !sub.in_flight
      && snapshots_ < limits_.max_concurrent_snapshots) {
    set_phase(sub, phase::fetching);
    out.snapshots_wanted.push_back(id);
  }
  if (auto batch = next_batch(sub, now_ms, made, out.deferred))
    out.batches.push_back({id, std::move(batch)});
  return std::next(i);
}

void event_feed::set_phase(subscription& sub, phase at) {
  auto counts = [](phase p) { return p == phase::fetching || p == phase::sending; };
  snapshots_ += counts(at);
  snapshots_ -= counts(sub.at);
  sub.at = at;
}

event_feed::shared_batch event_feed::next_batch(subscription& sub, int64_t now_ms,
                                                batch_cache* made, bool& deferred) {
  if (sub.in_flight)
    return nullptr;
  if (sub.at == phase::streaming && now_ms - sub.last_events_ms < limits_.min_batch_interval_ms) {
    deferred = deferred || first_after(sub.position) != history_.end();
    return nullptr;
  }
  const bool streaming = sub.at == phase::streaming; // (a snapshot's batches hold nothing back)
  shared_batch batch;
  if (sub.at == phase::sending) {
    batch = std::make_shared<const pb::EventBatch>(snapshot_batch(sub));
  } else if (sub.at == phase::streaming) {
    batch = stream_batch(sub, made);
    if (batch->events_size() == 0 && now_ms - sub.last_sent_ms < limits_.keepalive_ms)
      return nullptr; // nothing new, and the subscriber heard from us recently
  } else if (now_ms - sub.last_sent_ms >= limits_.keepalive_ms) {
    pb::EventBatch keepalive; // waiting for an index or a snapshot: keep its lease warm
    keepalive.set_index(sub.position);
    batch = std::make_shared<const pb::EventBatch>(std::move(keepalive));
  } else {
    return nullptr;
  }
  sub.in_flight = true;
  sub.in_flight_index = batch->index();
  sub.last_sent_ms = now_ms;
  if (streaming && batch->events_size() > 0)
    sub.last_events_ms = now_ms;
  return batch;
}

event_feed::shared_batch event_feed::stream_batch(subscription& sub, batch_cache* made) {
  // Subscriptions at the same position with the same filter get the same batch: made once.
  const auto key = std::make_pair(sub.position, sub.filter_key);
  if (made)
    if (auto known = made->find(key); known != made->end()) {
      sub.position = known->second->index();
      return known->second;
    }
  pb::EventBatch batch;
  auto event = first_after(sub.position);
  // Entries with no event the filter passes are delivered too; a subscriber that resumed from an
  // index this master has not applied yet stays there.
  uint64_t through = std::max(*applied_, sub.position);
  for (; event != history_.end(); ++event) {
    if (static_cast<size_t>(batch.events_size()) >= limits_.max_batch_events
        && event->index() != batch.events(batch.events_size() - 1).index()) {
      through = batch.events(batch.events_size() - 1).index();
      break;
    }
    if (sub.filter.passes(*event))
      *batch.add_events() = *event;
  }
  sub.position = through;
  batch.set_index(through);
  auto shared = std::make_shared<const pb::EventBatch>(std::move(batch));
  if (made)
    made->emplace(key, shared);
  return shared;
}

void event_feed::snapshot_ready(uint64_t id, uint64_t index, std::vector<pb::Event> events) {
  auto i = subs_.find(id);
  if (i == subs_.end() || i->second.at != phase::fetching)
    return;
  auto& sub = i->second;
  sub.snapshot.assign(std::make_move_iterator(events.begin()),
                      std::make_move_iterator(events.end()));
  sub.snapshot_index = index;
  set_phase(sub, phase::sending);
}

pb::EventBatch event_feed::snapshot_batch(subscription& sub) {
  pb::EventBatch batch;
  batch.set_index(sub.snapshot_index);
  batch.set_snapshot(true);
  batch.set_missed_from(sub.missed_from);
  sub.missed_from = 0;
  while (!sub.snapshot.empty()
         && static_cast<size_t>(batch.events_size()) < limits_.max_batch_events) {
    *batch.add_events() = std::move(sub.snapshot.front());
    sub.snapshot.pop_front();
  }
  if (sub.snapshot.empty()) {
    batch.set_snapshot_done(true);
    set_phase(sub, phase::streaming);
    sub.position = sub.snapshot_index;
    if (sub.position < start_)
      fall_back_to_snapshot(sub, sub.position + 1);
  }
  return batch;
}

} // namespace claud::state
