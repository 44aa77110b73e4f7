#include "roles/rejoin.hpp"

#include <signal.h>

#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "claud/protocol.hpp"
#include "net/address.hpp"
#include "net/connect_api.hpp"
#include "roles/node_context.hpp"

namespace claud::roles {

namespace {

using namespace std::chrono_literals;

/// Whether SIGTERM or SIGINT waits (they are blocked until the node waits for them).
bool stop_requested() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

/// Whether the leader's `view` shows `change` (this master's REMOVE or ADD_LEARNER) made.
bool in_effect(const pb::LeaderInfo& view, const pb::MembershipChange& change) {
  bool listed = false;
  for (const auto& m : view.masters())
    listed = listed || (m.address() == change.address() && m.role() != "not a member");
  return change.kind() == pb::MembershipChange::REMOVE ? !listed : listed;
}

} // namespace

std::optional<pb::LeaderInfo> existing_cluster(caf::actor_system& system,
                                               const std::vector<std::string>& peers,
                                               std::chrono::milliseconds timeout) {
  caf::scoped_actor self{system};
  for (const auto& address : peers) {
    auto api = net::connect_api(self, net::parse_host_port(address), timeout);
    if (!api)
      continue;
    std::optional<pb::LeaderInfo> view;
    self->request(*api, timeout, local_atom::value, leader_atom::value)
        .receive(
            [&](pb::LeaderInfo& info) {
              if (info.commit_index() > 0)
                view = std::move(info);
            },
            [](caf::error&) {});
    if (view)
      return view;
  }
  return std::nullopt;
}

void change_own_membership(caf::actor_system& system, const std::vector<std::string>& peers,
                           const pb::MembershipChange& change, std::chrono::milliseconds patience) {
  caf::scoped_actor self{system};
  const auto deadline = std::chrono::steady_clock::now() + patience;
  std::string last_error = "no master answered";
  while (!stop_requested()) {
    for (const auto& address : peers) {
      auto api = net::connect_api(self, net::parse_host_port(address), 1s);
      if (!api) {
        last_error = fmt::format("{}: {}", address, error_message(api.error()));
        continue;
      }
      // The leader commits a change within milliseconds; a master that holds it longer is cut
      // off. An answer lost after the change committed leaves it done: a retry then finds it so.
      bool done = false;
      auto settled = [&](pb::LeaderInfo& view) { done = done || in_effect(view, change); };
      auto failed = [&](caf::error& err) {
        last_error = fmt::format("{}: {}", address, error_message(err));
      };
      self->request(*api, 3s, leader_atom::value).receive(settled, failed);
      if (!done)
        self->request(*api, 3s, masters_atom::value, change)
            .receive([&](pb::LeaderInfo&) { done = true; }, failed);
      if (done)
        return;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw startup_error(fmt::format(
          "this master's data dir has no raft log but the cluster has one, so it must rejoin "
          "as a learner, and `masters {} {}` failed: {}; retry once the cluster has a leader",
          change.kind() == pb::MembershipChange::REMOVE ? "remove" : "add", change.address(),
          last_error));
    std::this_thread::sleep_for(200ms);
  }
}

} // namespace claud::roles
