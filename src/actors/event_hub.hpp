#pragma once
// event_hub: serves the event stream on one master, leader or follower. leader_election hands it
// the events of every entry this master applies (event_feed keeps them) and answers its snapshot
// reads; clients subscribe through
// the api and receive batches from the hub, each acknowledged before the next is sent. Every
// master serves subscriptions from its own apply order: indexes are the cluster's, so a client
// that loses its master resumes at another from the last index it saw, with no gap and no
// duplicate.
//
// Messages (see include/claud/protocol.hpp for the subscriber's side):
//   (events_atom, pb::Subscribe, caf::actor subscriber) -> pb::Subscribed
//   (ack_atom, uint64_t subscription, uint64_t index)    from the subscriber
//   (unsubscribe_atom, uint64_t subscription)            from the subscriber
//   (events_atom, uint64_t after, pb::EventBatch)         from leader_election: the entries
//                                                          (after, batch.index] were applied

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "state/event_feed.hpp"

namespace claud {

struct event_hub_config {
  std::string address; // this master's HOST:PORT, told to subscribers
  state::feed_limits limits;
  std::chrono::milliseconds tick{200};              // leases and keepalives are checked this often
  std::chrono::milliseconds internal_timeout{5000}; // bound on a snapshot read
};

caf::actor spawn_event_hub(caf::actor_system& system, event_hub_config config);

} // namespace claud
