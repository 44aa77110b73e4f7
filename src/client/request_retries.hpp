#pragma once
// When a client request that failed goes again, and where: the rules the blocking client and the
// cluster actor (include/claud/cluster.hpp) share. Every request is safe to send again: reads,
// kills and drains are idempotent, and a submission carries its idempotency key.

#include <chrono>
#include <optional>
#include <string>

#include <caf/error.hpp>

namespace claud {

/// How long a master may answer "no leader" before the client asks another: several election
/// timeouts (300 ms by default), so a normal election is waited out where it is.
constexpr std::chrono::milliseconds no_leader_patience{1500};

/// 128 random bits in hex, for a submission that names no key: no two submissions share one by
/// chance, and all the tries of one do.
std::string new_idempotency_key();

class request_retries {
public:
  using clock = std::chrono::steady_clock;

  /// Retries for at most `budget` from `start`.
  request_retries(std::chrono::milliseconds budget, clock::time_point start);

  struct decision {
    bool retry = false;       // else fail with `message`
    bool ask_another = false; // move to the next master first
    std::chrono::milliseconds backoff{0};
    std::string message;        // one line, when not retried
    bool exhausted = false;     // not retried for lack of time (else: the error is final)
    bool unreachable = false;   // the last try lost its master
    bool maybe_applied = false; // a try may have reached a leader's log
  };

  /// What to do after a try failed with `err` at `now`.
  decision after(const caf::error& err, clock::time_point now);

private:
  std::chrono::milliseconds budget_;
  clock::time_point deadline_;
  std::chrono::milliseconds backoff_{20};
  bool maybe_applied_ = false;
  // Since when the master has known no leader; an election ends well within no_leader_patience,
  // so past it the master is more likely cut off from the majority than waiting for one.
  std::optional<clock::time_point> no_leader_since_;
};

} // namespace claud
