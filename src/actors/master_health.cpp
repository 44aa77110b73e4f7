#include "actors/master_health.hpp"

#include <memory>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "storage/disk_space.hpp"

namespace claud {

pb::NodeHealth own_health(const master_health_config& config, bool leader_known) {
  pb::NodeHealth health;
  health.set_answered(true);
  health.set_version(claud_version());
  health.set_tls(config.tls);
  health.set_leader_known(leader_known);
  auto dir = storage::check_data_dir(config.data_dir, config.min_free_disk_bytes);
  health.set_data_dir_writable(dir.writable);
  health.set_disk_free_bytes(dir.free_bytes);
  if (!dir.problem.empty())
    health.set_problem(dir.problem);
  else if (!leader_known)
    health.set_problem("it knows no leader (cut off from a majority of the voting masters, or "
                       "not a member)");
  return health;
}

namespace {

/// What the gathering holds until the last master has answered.
struct gathering {
  pb::LeaderInfo info;
  caf::response_promise promise;
  size_t waiting = 0;

  void answered() {
    if (--waiting == 0)
      promise.deliver(std::move(info));
  }
};

pb::NodeHealth unanswered(const std::string& why) {
  pb::NodeHealth health;
  health.set_problem(why);
  return health;
}

} // namespace

void gather_health(caf::event_based_actor* self, pb::LeaderInfo info, pb::NodeHealth own,
                   const caf::actor& peers, const master_health_config& config,
                   caf::response_promise promise) {
  auto g = std::make_shared<gathering>();
  g->info = std::move(info);
  g->promise = std::move(promise);
  g->waiting = 1; // released below, once every request is out
  const auto timeout = config.timeout;
  for (int i = 0; i < g->info.masters_size(); ++i) {
    auto* master = g->info.mutable_masters(i);
    if (master->address() == g->info.served_by()) {
      *master->mutable_health() = own;
      continue;
    }
    if (!peers)
      continue;
    ++g->waiting;
    auto set = [g, i](pb::NodeHealth health) {
      *g->info.mutable_masters(i)->mutable_health() = std::move(health);
      g->answered();
    };
    self->request(peers, timeout, lookup_atom::value, master->address())
        .then(
            [=](caf::actor& api) {
              self->request(api, timeout, health_atom::value)
                  .then([=](pb::NodeHealth& health) { set(std::move(health)); },
                        [=](caf::error& err) {
                          set(unanswered(err == caf::sec::request_timeout ? fmt::format(
                                             "did not answer within {} ms", timeout.count())
                                                                          : error_message(err)));
                        });
            },
            [=](caf::error& err) { set(unanswered(error_message(err))); });
  }
  g->answered();
}

} // namespace claud
