#pragma once
// A simulated client, as the client library behaves: every submission carries an idempotency key
// and is retried under it after a timeout, an unknown outcome or a leader change until it is
// answered; kills and drains are retried likewise (they are idempotent). It asks the master it
// believes leads and moves on when told "not the leader". What it was told is kept for the checks:
// the keys acknowledged with their job, the keys refused.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lifecycle_messages.hpp"
#include "prng.hpp"

namespace claud::sim {

class client_sim {
public:
  using send_fn = std::function<void(const std::string& to, message m)>;

  client_sim(std::string id, std::vector<std::string> masters, uint64_t seed);

  const std::string& id() const {
    return id_;
  }
  /// Submits a new job drawn from the seed (its spec fits `max_cpu_millis`).
  void submit(uint64_t now, int64_t max_cpu_millis, const send_fn& send);
  /// Kills one of the acknowledged jobs, if any.
  void kill(uint64_t now, const send_fn& send);
  /// Drains or undrains `node_id`.
  void drain(const std::string& node_id, bool draining, uint64_t now, const send_fn& send);
  void deliver(const std::string& from, const message& m, uint64_t now);
  /// Sends again what timed out; `leader` is who leads now, if anyone (a real client learns it
  /// from the "not the leader" answer).
  void tick(uint64_t now, const std::string& leader, const send_fn& send);

  bool idle() const {
    return requests_.empty();
  }
  const std::map<std::string, std::string>& acknowledged() const {
    return acknowledged_; // key -> job id
  }
  const std::set<std::string>& refused() const {
    return refused_;
  }
  /// The spec of a key's submission.
  const std::map<std::string, pb::JobSpec>& submitted() const {
    return specs_;
  }
  uint64_t retries() const {
    return retries_;
  }

private:
  struct request {
    message body;
    std::string to;
    uint64_t sent_at = 0;
    bool due = false; // send (again) at the next tick
  };
  void send_request(uint64_t id, uint64_t now, const send_fn& send);

  std::string id_;
  std::vector<std::string> masters_;
  prng rng_;
  std::string leader_guess_;
  std::map<uint64_t, request> requests_; // outstanding, by request id
  uint64_t next_request_ = 1;
  uint64_t next_key_ = 1;
  uint64_t retries_ = 0;
  std::map<std::string, std::string> acknowledged_;
  std::set<std::string> refused_;
  std::map<std::string, pb::JobSpec> specs_;
};

} // namespace claud::sim
