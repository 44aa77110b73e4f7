#pragma once
// The blocking client's insides, shared by client.cpp (requests, retries, failover) and
// client_events.cpp (the event stream, waits). Not installed: users see include/claud/client.hpp.

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "claud/client.hpp"
#include "claud/protocol.hpp"
#include "net/address.hpp"
#include "net/connect_api.hpp"

namespace claud {

/// How long a master may answer "no leader" before the client asks another: several election
/// timeouts (300 ms by default), so a normal election is waited out where it is.
constexpr std::chrono::milliseconds no_leader_patience{1500};

/// The actor system a client starts: its TLS (checked first), a few workers.
caf::actor_system_config& configure_client_system(caf::actor_system_config& cfg,
                                                  const client_options& options);

struct client::impl {
  client_options options;
  caf::actor_system_config cfg;
  caf::actor_system system;
  caf::scoped_actor self;
  caf::actor api;
  std::string address;

  explicit impl(client_options opts)
      : options(std::move(opts)), system(configure_client_system(cfg, options)), self(system) {}

  /// Connects to the first master that answers; throws client_error naming every address tried.
  void connect();
  /// After losing the master: the next address that answers (wrapping around the list).
  void reconnect();
  /// Follows the event subscription `id` at this master, acknowledging each batch, until the
  /// handler stops it (returns false) or the master is lost: down, silent for event_silence,
  /// or it ended the subscription (returns true). `from` follows the last index fully seen.
  bool follow_events(uint64_t id, std::optional<uint64_t>& from, const event_handler& handler);

  /// One request, answered or failed.
  template<class Result, class... Ts>
  caf::expected<Result> attempt(std::chrono::milliseconds timeout, const Ts&... xs) {
    caf::expected<Result> outcome{caf::sec::request_timeout};
    self->request(api, timeout, xs...)
        .receive([&](Result& value) { outcome = std::move(value); },
                 [&](caf::error& err) { outcome = std::move(err); });
    return outcome;
  }

  /// Whether the request may go again: no leader yet, a leader change that discarded the write,
  /// or one that left its outcome unknown (every write is idempotent: a submission by its key).
  static bool retryable(const caf::error& err) {
    return has_code(err, errc::unavailable) || has_code(err, errc::not_leader)
           || has_code(err, errc::outcome_unknown);
  }

  /// Whether the master we talk to went away; an idempotent request then goes to another one.
  static bool connection_lost(const caf::error& err) {
    return err == caf::sec::request_receiver_down || err == caf::sec::request_timeout;
  }

  /// Sends the request, retrying through failovers and lost masters until
  /// `options.request_timeout` has passed. Every request is safe to send again: reads and kills
  /// and drains are idempotent, and a submission carries its idempotency key.
  template<class Result, class... Ts>
  Result request(std::chrono::milliseconds timeout, const Ts&... xs) {
    auto deadline = std::chrono::steady_clock::now() + options.request_timeout;
    auto backoff = std::chrono::milliseconds{20};
    bool maybe_applied = false; // a try may have reached a leader's log
    // Since when this master has known no leader; an election ends well within no_leader_patience,
    // so past it the master is more likely cut off from the majority than waiting for one.
    std::optional<std::chrono::steady_clock::time_point> no_leader_since;
    for (;;) {
      auto outcome = attempt<Result>(timeout, xs...);
      if (outcome)
        return std::move(*outcome);
      const auto& err = outcome.error();
      bool lost = connection_lost(err);
      const auto now = std::chrono::steady_clock::now();
      if (!has_code(err, errc::unavailable))
        no_leader_since.reset();
      else if (!no_leader_since)
        no_leader_since = now;
      // A master outside the membership, or cut off from it, learns of no leader: another one
      // may know it.
      bool ask_another = lost || has_code(err, errc::not_member)
                         || (no_leader_since && now - *no_leader_since >= no_leader_patience);
      if (ask_another)
        no_leader_since.reset();
      maybe_applied = maybe_applied || lost || has_code(err, errc::outcome_unknown);
      if (!retryable(err) && !ask_another)
        throw client_error(error_message(err));
      if (std::chrono::steady_clock::now() + backoff > deadline)
        throw client_error(fmt::format("{}; gave up after {:g} s of retries", error_message(err),
                                       static_cast<double>(options.request_timeout.count()) / 1000),
                           lost, maybe_applied);
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds{500});
      if (ask_another)
        reconnect();
    }
  }
};

} // namespace claud
