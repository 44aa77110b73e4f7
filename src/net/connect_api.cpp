#include "net/connect_api.hpp"

#include <set>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace claud::net {

caf::expected<caf::actor> connect_api(caf::scoped_actor& self, const host_port& where,
                                      std::chrono::milliseconds timeout) {
  caf::expected<caf::actor> outcome{caf::sec::request_timeout};
  self->request(self->system().middleman().actor_handle(), timeout, caf::connect_atom_v, where.host,
                where.port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
            if (auto actor = caf::actor_cast<caf::actor>(handle))
              outcome = std::move(actor);
            else
              outcome = caf::sec::no_actor_published_at_port;
          },
          [&](caf::error& err) { outcome = std::move(err); });
  return outcome;
}

} // namespace claud::net
