#pragma once
// event_feed: the event stream's bookkeeping on one master, pure (the event_hub actor does the
// messages and the clock). It keeps a bounded history of the events of the entries this master
// applied, and each subscription as a position in it, so a slow subscriber costs the master no
// memory of its own: one that falls more than max_lag_events behind, or asks for events older than
// the history, gets a snapshot of what its filter selects instead (with the index it missed from).
//
// A subscription's life:
//
//   subscribe ──> waiting (the master has not applied min_index yet)
//        │            │
//        ├────────────┴──> needs snapshot ──> fetching (host reads the state) ──> sending ──┐
//        │                      ^                                                          │
//        └──> streaming <───────┼──────────────────────────────────────────────────────────┘
//                 │             └── fell behind, or the history lost its position
//                 └──> dropped (lease expired: no acknowledgement within lease_ms)
//
// One batch is in flight per subscription: the next goes when the last is acknowledged.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events.pb.h"
#include "state/events.hpp"

namespace claud::state {

struct feed_limits {
  size_t history_events = 50000;  // events kept for subscribers to resume from
  size_t max_lag_events = 10000;  // how far a subscription may fall behind before a snapshot
  size_t max_batch_events = 1000; // events in one batch (an entry's are never split)
  size_t max_subscribers = 1000;
  size_t max_concurrent_snapshots = 8; // snapshots read from the state or being sent at once
  int64_t lease_ms = 5000;             // a subscriber acknowledges within it or is dropped
  int64_t keepalive_ms = 1000;         // an idle subscription gets an empty batch this often
  // A subscription gets at most one batch this often: a sparse stream goes out at once, a dense
  // one in fewer, larger batches (each batch costs the master a message and an acknowledgement).
  int64_t min_batch_interval_ms = 5;
  filter_limits filter;
};

class event_feed {
public:
  explicit event_feed(feed_limits limits);

  /// The master applied the entries (after, up_to] and they made `events`, in order. An `after`
  /// that is not the last `up_to` is a gap (the master installed a snapshot): the history starts
  /// again there, and subscriptions behind it get a snapshot.
  void append(uint64_t after, uint64_t up_to, std::vector<pb::Event> events);

  struct subscribe_result {
    uint64_t subscription = 0; // 0: refused
    std::string error;
    bool overloaded = false; // refused for the number of subscriptions, not the request
  };
  subscribe_result subscribe(const pb::Subscribe& request, int64_t now_ms);

  /// The subscriber acknowledged the batch up to `index`; false for an unknown subscription.
  bool acknowledge(uint64_t subscription, uint64_t index, int64_t now_ms);
  void remove(uint64_t subscription);

  /// A batch as sent: shared by every subscription it goes to unchanged (the same filter at the
  /// same position), so a hundred subscribers of everything cost one batch, not a hundred.
  using shared_batch = std::shared_ptr<const pb::EventBatch>;
  struct addressed_batch {
    uint64_t subscription;
    shared_batch batch;
  };
  struct outgoing {
    std::vector<addressed_batch> batches;   // to send, one per subscription at most
    std::vector<uint64_t> snapshots_wanted; // read snapshot_events for each, then snapshot_ready
    std::vector<uint64_t> dropped;          // gone; their last batch (ended) is in `batches`
    bool deferred = false; // a batch waits for min_batch_interval_ms: poll again by then
  };
  /// What is due at `now_ms`: batches for subscriptions with something to send and no batch in
  /// flight, snapshots to read, leases that expired.
  outgoing poll(int64_t now_ms);

  /// What is due for one subscription only: after its acknowledgement, the others have nothing
  /// new (leases and keepalives wait for the next poll of all).
  outgoing poll(uint64_t subscription, int64_t now_ms);

  /// The snapshot snapshots_wanted asked for, read at `index`.
  void snapshot_ready(uint64_t subscription, uint64_t index, std::vector<pb::Event> events);

  const event_filter* filter_of(uint64_t subscription) const;
  size_t subscriptions() const {
    return subs_.size();
  }
  /// The last index applied, once the master said (0 before).
  uint64_t applied() const {
    return applied_.value_or(0);
  }
  size_t history_size() const {
    return history_.size();
  }
  /// Every event up to this index has left the history (or was never in it).
  uint64_t history_start() const {
    return start_;
  }

private:
  enum class phase { waiting, needs_snapshot, fetching, sending, streaming };
  struct subscription {
    explicit subscription(const pb::EventFilter& spec) : filter(spec) {}
    event_filter filter;
    std::string filter_key; // the filter's bytes: equal filters share their batches
    phase at = phase::waiting;
    uint64_t min_index = 0;
    bool resume = false;      // asked to start after `position` (else with a snapshot)
    uint64_t position = 0;    // every event up to it was sent (streaming)
    uint64_t missed_from = 0; // if not 0, the next snapshot stands in for events from this index
    int64_t subscribed_ms = 0;
    std::deque<pb::Event> snapshot; // still to send (sending)
    uint64_t snapshot_index = 0;
    bool in_flight = false;
    uint64_t in_flight_index = 0;
    int64_t last_heard_ms = 0;
    int64_t last_sent_ms = 0;
    int64_t last_events_ms = -(int64_t{1} << 62); // when a batch of events last went
  };

  void trim_history();
  /// Subscriptions streaming from a position the history no longer holds, or too far behind it.
  void check_positions();
  void fall_back_to_snapshot(subscription& sub, uint64_t missed_from);
  /// Stream batches made during one poll, by (position, filter_key).
  using batch_cache = std::map<std::pair<uint64_t, std::string>, shared_batch>;
  shared_batch next_batch(subscription& sub, int64_t now_ms, batch_cache* made, bool& deferred);
  shared_batch stream_batch(subscription& sub, batch_cache* made);
  pb::EventBatch snapshot_batch(subscription& sub);
  /// What is due for the subscription at `i`; the iterator after it (it may have been dropped).
  std::map<uint64_t, subscription>::iterator poll_one(std::map<uint64_t, subscription>::iterator i,
                                                      int64_t now_ms, outgoing& out,
                                                      batch_cache* made);
  /// Moves `sub` to `at`, keeping count of the snapshots in progress.
  void set_phase(subscription& sub, phase at);
  /// Events after `index` in the history.
  size_t events_after(uint64_t index) const;
  std::deque<pb::Event>::const_iterator first_after(uint64_t index) const;

  feed_limits limits_;
  std::deque<pb::Event> history_; // in index order
  uint64_t start_ = 0;            // the history holds every event of the entries after it
  std::optional<uint64_t> applied_;
  std::map<uint64_t, subscription> subs_;
  size_t snapshots_ = 0; // subscriptions fetching or sending a snapshot
  uint64_t next_id_ = 0;
};

} // namespace claud::state
