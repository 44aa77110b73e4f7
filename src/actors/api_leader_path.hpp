#pragma once
// How the api answers through other actors: a follower relays client requests to the leader's
// api, and the leader adds what only it knows (every master's health, when it last heard from
// each slave) to leader_election's answers.

#include <caf/all.hpp>

#include "actors/api_state.hpp"
#include "actors/internal_atoms.hpp"
#include "actors/master_health.hpp"
#include "claud/protocol.hpp"

namespace claud {

/// Why this master knows no leader, from its view of the masters now (the membership changes).
caf::error no_leader_error(const pb::LeaderInfo& view);

/// On a follower: asks the leader's api and relays its answer (`Result`, or an error). Relayed,
/// not delegated: an answer from the leader's own actors would make the client's CAF learn of the
/// leader's node through this master and probe that node with a routed message, which basp_gate
/// refuses from any peer but a master (dropping the client before the answer arrives).
template<class Result, class... Ts>
caf::response_promise to_leader(api_self self, Ts... xs) {
  auto promise = self->make_response_promise();
  const auto& st = self->state;
  if (st.leader.empty()) {
    self->request(st.config.leader_election, st.config.internal_timeout, local_atom::value,
                  leader_atom::value)
        .then([=](const pb::LeaderInfo& view) mutable { promise.deliver(no_leader_error(view)); },
              [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
    return promise;
  }
  self->request(st.config.peers, st.config.internal_timeout, lookup_atom::value, st.leader)
      .then(
          [=](caf::actor& leader) mutable {
            // The leader holds a wait for at most its poll period, within this bound.
            self->request(leader, self->state.config.internal_timeout, xs...)
                .then([=](Result& answer) mutable { promise.deliver(std::move(answer)); },
                      [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// leader_election's view of the masters (asked with `xs`), with their health: every master's
/// as each answers (`every_master`, on the leader), or this master's own.
template<class... Ts>
caf::response_promise with_health(api_self self, bool every_master, Ts... xs) {
  auto promise = self->make_response_promise();
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, xs...)
      .then(
          [=](pb::LeaderInfo& info) mutable {
            const auto& st = self->state;
            gather_health(self, std::move(info), own_health(st.config.health, !st.leader.empty()),
                          every_master ? st.config.peers : caf::actor{}, st.config.health, promise);
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// The nodes as the replicated state has them, each slave connected to this leader with how long
/// ago the resource tracker last heard from it.
caf::response_promise with_last_heard(api_self self);

} // namespace claud
