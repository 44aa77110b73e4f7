#pragma once
// The simulated network between masters: every message is held in flight for a drawn number of
// steps, then delivered unless it was lost, its link is cut or the in-flight bound is reached.
// Different delays reorder messages; a duplicate is a second copy with its own delay. Links are
// directed, so a one-way partition (a leader that can send but not receive) is a set of cut links.
// A cut applies at delivery: a message in flight when its link is cut is lost, as on a real wire.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "prng.hpp"
#include "raft.pb.h"

namespace claud::sim {

struct network_options {
  double loss = 0;      // probability that a message is dropped
  double duplicate = 0; // probability that it is delivered a second time
  int min_delay_steps = 1;
  int max_delay_steps = 1;
  size_t max_in_flight = 20000; // the wire's bound: beyond it new messages are dropped
};

struct network_stats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t lost = 0; // loss, cut links and the in-flight bound
  uint64_t duplicated = 0;
};

class network {
public:
  network(std::vector<std::string> ids, uint64_t seed, network_options options = {});

  const network_options& options() const {
    return options_;
  }
  void set_options(const network_options& options);

  /// Cuts the link from -> to (one direction only).
  void cut(const std::string& from, const std::string& to);
  /// Cuts every link into and out of `id`.
  void isolate(const std::string& id);
  /// Cuts every link between `side` and the other masters, both ways.
  void partition(const std::vector<std::string>& side);
  /// Restores every link.
  void heal();
  bool connected(const std::string& from, const std::string& to) const;
  bool healed() const {
    return cut_.empty();
  }
  const std::set<std::pair<std::string, std::string>>& cut_links() const {
    return cut_;
  }

  void send(pb::RaftMessage message, uint64_t now);
  /// The messages due at `now`, in delivery order, without those whose link is cut.
  std::vector<pb::RaftMessage> take_due(uint64_t now);
  /// The step at which the last message in flight from -> to is due; 0 when there is none.
  uint64_t last_due(const std::string& from, const std::string& to) const;
  size_t in_flight() const {
    return queue_.size();
  }
  const network_stats& stats() const {
    return stats_;
  }

private:
  void enqueue(pb::RaftMessage message, uint64_t now);

  std::vector<std::string> ids_;
  prng rng_;
  network_options options_;
  std::map<std::pair<uint64_t, uint64_t>, pb::RaftMessage> queue_; // (due step, send order)
  uint64_t next_seq_ = 0;
  std::set<std::pair<std::string, std::string>> cut_; // (from, to)
  network_stats stats_;
};

} // namespace claud::sim
