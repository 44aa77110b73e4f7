#pragma once
// The event stream in the whole-cluster simulation: every master keeps a state::event_feed of
// the events its replica makes, as its event hub does, and one simulated subscriber follows the
// stream as the client library does — one master at a time, moving to another when its master
// goes down (or now and then, as after a silence), resuming from the last index it saw, and now
// and then too slow to read (so it falls behind and gets "missed" and a snapshot).
//
// Invariants (a broken one throws invariant_violation):
//  - every master makes the same events of the same index (each is told by whichever master a
//    subscriber is at, so they must agree);
//  - the subscriber gets, for every index it passes by the stream, exactly the events that index
//    made: no gap, no duplicate, none out of order, across every move;
//  - a gap is never silent: a batch that replaces events says it missed them from no later than
//    the first index after its stream that made events, and a snapshot follows;
//  - at the end, once the cluster has settled, it has reached the leader's last index.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "prng.hpp"
#include "state/event_feed.hpp"

namespace claud::sim {

class event_follower {
public:
  explicit event_follower(uint64_t seed);

  /// An output of `master`'s replica: its entries' events, checked against the other masters'
  /// and appended to its feed.
  void on_output(const std::string& master, const replica::output& out,
                 const state::cluster_state& state);
  /// `master` went down: its feed is gone, and a subscription there with it.
  void on_reset(const std::string& master);
  /// One step at `now_ms`: reads and acknowledges what its master's feed has for it (unless it
  /// is being slow), subscribing or moving first when due. `states` gives each master's state,
  /// for the snapshots feeds ask for.
  void tick(int64_t now_ms,
            const std::function<const state::cluster_state*(const std::string&)>& states);
  /// Once settled: reads until it has every event of `leader`'s applied entries.
  void check_end(const std::string& leader, int64_t now_ms,
                 const std::function<const state::cluster_state*(const std::string&)>& states);

  struct counts {
    uint64_t events = 0, batches = 0, moves = 0, snapshots = 0;
  };
  const counts& seen() const {
    return counts_;
  }

private:
  void subscribe(int64_t now_ms);
  void take(const pb::EventBatch& batch);
  /// Serves the snapshots the feed of `master` asks for.
  void serve_snapshots(const std::vector<uint64_t>& wanted, const std::string& master,
                       const state::cluster_state& state);

  prng rng_;
  std::map<uint64_t, std::vector<std::string>> told_; // each index's events, serialized
  std::map<std::string, std::unique_ptr<state::event_feed>> feeds_;
  std::string at_; // the master subscribed at ("" for none)
  uint64_t subscription_ = 0;
  uint64_t last_ = 0;         // it has every event through this index
  bool in_snapshot_ = false;  // a snapshot is arriving: its index is last_ once it is done
  int64_t slow_until_ms_ = 0; // it reads nothing until then
  counts counts_;
};

} // namespace claud::sim
