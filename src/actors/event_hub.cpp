#include "actors/event_hub.hpp"

#include <chrono>
#include <map>
#include <optional>

#include <caf/all.hpp>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"

namespace claud {

namespace {

struct event_hub_state {
  event_hub_config config;
  std::unique_ptr<state::event_feed> feed;
  std::map<uint64_t, caf::actor> subscribers; // by subscription
  caf::actor source;                          // leader_election, which tells of applied entries
  bool poll_soon = false;                     // a tick is due when a deferred batch may go
  static inline const char* name = "event_hub";
};

using self_pointer = caf::stateful_actor<event_hub_state>*;

/// The feed's clock: leases and keepalives are intervals, so a monotonic one.
int64_t monotonic_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void read_snapshot(self_pointer self, uint64_t subscription);

/// Sends what the feed has due (for every subscription, or only `one`), and reads the snapshots
/// it wants.
void pump(self_pointer self, std::optional<uint64_t> one = std::nullopt) {
  auto& st = self->state;
  auto out = one ? st.feed->poll(*one, monotonic_ms()) : st.feed->poll(monotonic_ms());
  for (auto& [subscription, batch] : out.batches)
    if (auto i = st.subscribers.find(subscription); i != st.subscribers.end())
      self->send(i->second, events_atom::value, subscription, event_batch_ref{std::move(batch)});
  for (auto id : out.dropped) {
    log::info("events", "subscription dropped", {{"subscription", std::to_string(id)}});
    st.subscribers.erase(id);
  }
  for (auto id : out.snapshots_wanted)
    read_snapshot(self, id);
  if (out.deferred && !st.poll_soon) {
    st.poll_soon = true;
    self->delayed_send(self, std::chrono::milliseconds{st.config.limits.min_batch_interval_ms},
                       tick_atom::value, false);
  }
}

void read_snapshot(self_pointer self, uint64_t subscription) {
  auto& st = self->state;
  const auto* filter = st.feed->filter_of(subscription);
  // The read is answered after every batch of events leader_election sent before it (messages
  // between two actors keep their order), so the snapshot is at an index the feed has reached.
  self->request(st.source, st.config.internal_timeout, local_atom::value, events_atom::value,
                filter->spec())
      .then(
          [=](pb::EventBatch& snapshot) {
            std::vector<pb::Event> events{
                std::make_move_iterator(snapshot.mutable_events()->begin()),
                std::make_move_iterator(snapshot.mutable_events()->end())};
            self->state.feed->snapshot_ready(subscription, snapshot.index(), std::move(events));
            pump(self, subscription);
          },
          [=](caf::error& err) {
            log::warn("events", "snapshot read failed", {{"error", error_message(err)}});
            self->state.feed->remove(subscription);
            self->state.subscribers.erase(subscription);
          });
}

caf::result<pb::Subscribed> subscribe(self_pointer self, const pb::Subscribe& request,
                                      caf::actor& subscriber) {
  auto& st = self->state;
  if (!subscriber)
    return make_error(errc::invalid_request, "a subscription needs an actor to send events to");
  auto result = st.feed->subscribe(request, monotonic_ms());
  if (result.subscription == 0)
    return make_error(result.overloaded ? errc::overloaded : errc::invalid_request, result.error);
  self->monitor(subscriber);
  st.subscribers.emplace(result.subscription, std::move(subscriber));
  pb::Subscribed answer;
  answer.set_subscription(result.subscription);
  answer.set_lease_ms(static_cast<uint32_t>(st.config.limits.lease_ms));
  answer.set_served_by(st.config.address);
  // The first batch goes after this answer: pump once the answer has left.
  self->send(self, tick_atom::value, false);
  return answer;
}

/// Whether the current message comes from the actor that holds `subscription`: no other may
/// acknowledge for it or end it.
bool from_subscriber(self_pointer self, uint64_t subscription) {
  auto i = self->state.subscribers.find(subscription);
  return i != self->state.subscribers.end() && self->current_sender() == i->second.address();
}

caf::behavior event_hub(self_pointer self, event_hub_config config) {
  self->state.feed = std::make_unique<state::event_feed>(config.limits);
  self->state.config = std::move(config);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    for (auto i = st.subscribers.begin(); i != st.subscribers.end();) {
      if (i->second.address() == down.source) {
        st.feed->remove(i->first);
        i = st.subscribers.erase(i);
      } else {
        ++i;
      }
    }
  });
  self->send(self, tick_atom::value, true);
  auto local = [=] {
    const auto& sender = self->current_sender();
    return !sender || sender->node() == self->node();
  };
  return {
      [=](events_atom, const pb::Subscribe& request, caf::actor& subscriber)
          -> caf::result<pb::Subscribed> { return subscribe(self, request, subscriber); },
      [=](ack_atom, uint64_t subscription, uint64_t index) {
        if (from_subscriber(self, subscription)
            && self->state.feed->acknowledge(subscription, index, monotonic_ms()))
          pump(self, subscription);
      },
      [=](unsubscribe_atom, uint64_t subscription) {
        if (from_subscriber(self, subscription)) {
          self->state.feed->remove(subscription);
          self->state.subscribers.erase(subscription);
        }
      },
      [=](events_atom, uint64_t after, pb::EventBatch& applied) {
        if (!local())
          return;
        self->state.source = caf::actor_cast<caf::actor>(self->current_sender());
        std::vector<pb::Event> events{std::make_move_iterator(applied.mutable_events()->begin()),
                                      std::make_move_iterator(applied.mutable_events()->end())};
        self->state.feed->append(after, applied.index(), std::move(events));
        pump(self);
      },
      [=](tick_atom, bool periodic) {
        if (!local())
          return;
        if (!periodic)
          self->state.poll_soon = false;
        pump(self);
        if (periodic)
          self->delayed_send(self, self->state.config.tick, tick_atom::value, true);
      },
  };
}

} // namespace

caf::actor spawn_event_hub(caf::actor_system& system, event_hub_config config) {
  return system.spawn(event_hub, std::move(config));
}

} // namespace claud
