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
#include "client/request_retries.hpp"
#include "net/address.hpp"
#include "net/connect_api.hpp"

namespace claud {

/// What client::stop_events() sends the client's own actor, from another thread.
using stop_events_atom = caf::atom_constant<caf::atom("stopevents")>;

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

  /// Sends the request, retrying through failovers and lost masters (request_retries) until
  /// `options.request_timeout` has passed.
  template<class Result, class... Ts>
  Result request(std::chrono::milliseconds timeout, const Ts&... xs) {
    request_retries retries{options.request_timeout, std::chrono::steady_clock::now()};
    for (;;) {
      auto outcome = attempt<Result>(timeout, xs...);
      if (outcome)
        return std::move(*outcome);
      auto next = retries.after(outcome.error(), std::chrono::steady_clock::now());
      if (!next.retry)
        throw client_error(next.message, next.unreachable, next.maybe_applied);
      std::this_thread::sleep_for(next.backoff);
      if (next.ask_another)
        reconnect();
    }
  }
};

} // namespace claud
