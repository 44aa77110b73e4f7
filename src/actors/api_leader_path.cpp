#include "actors/api_leader_path.hpp"

#include <fmt/format.h>

namespace claud {

/// Why this master knows no leader, from its view of the masters now (the membership changes).
caf::error no_leader_error(const pb::LeaderInfo& view) {
  size_t voters = 0;
  for (const auto& m : view.masters()) {
    if (m.role() == "not a member")
      return make_error(errc::not_member,
                        "no leader: this master is not a member of the cluster (removed, or "
                        "not added yet with `claud masters add`); ask another master");
    voters += m.role() != "learner";
  }
  return make_error(errc::unavailable,
                    fmt::format("no leader: fewer than a majority of the {} masters can reach each "
                                "other; retry once they can (`claud leader --local` shows this "
                                "master's view)",
                                voters));
}

/// The nodes as the replicated state has them, each slave connected to this leader with how long
/// ago the resource tracker last heard from it.
caf::response_promise with_last_heard(api_self self) {
  auto promise = self->make_response_promise();
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, nodes_atom::value)
      .then(
          [=](pb::NodeList& nodes) mutable {
            const auto& config = self->state.config;
            self->request(config.resource_tracker, config.internal_timeout, nodes_atom::value,
                          std::move(nodes))
                .then([=](pb::NodeList& heard) mutable { promise.deliver(std::move(heard)); },
                      [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

} // namespace claud
