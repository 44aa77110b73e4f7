#include "actors/leader_watch.hpp"

#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/internal_atoms.hpp"
#include "actors/slave_link.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"

namespace claud {

namespace {

struct watched_master {
  net::host_port address;
  caf::actor api;       // set while connected
  uint64_t session = 0; // counts connections, so answers for an old one are ignored
};

struct leader_watch_state {
  leader_watch_config config;
  std::vector<watched_master> masters;
  uint64_t newest_term = 0; // of the newest leader passed on
  static inline const char* name = "leader_watch";
};

using self_pointer = caf::stateful_actor<leader_watch_state>*;

void reconnect_later(self_pointer self, size_t index) {
  auto& master = self->state.masters[index];
  if (master.api)
    self->demonitor(master.api);
  master.api = nullptr;
  ++master.session;
  self->delayed_send(self, self->state.config.retry_interval, caf::connect_atom_v, index,
                     master.session);
}

/// Asks the master's api to tell this watch about leaders, now and on every change.
void watch(self_pointer self, size_t index, uint64_t session, caf::actor api) {
  auto& master = self->state.masters[index];
  master.api = api;
  self->monitor(api);
  self->request(api, self->state.config.request_timeout, watch_atom::value,
                caf::actor_cast<caf::actor>(self))
      .then([] {},
            [=](caf::error& err) {
              // A frozen master does not answer: its connection is asked again later.
              if (session != self->state.masters[index].session)
                return;
              log::debug("watch", "master does not watch",
                         {{"master", self->state.masters[index].address.to_string()},
                          {"error", error_message(err)}});
              reconnect_later(self, index);
            });
}

void connect(self_pointer self, size_t index, uint64_t session) {
  if (session != self->state.masters[index].session)
    return;
  const auto where = self->state.masters[index].address;
  auto middleman = self->home_system().middleman().actor_handle();
  self->request(middleman, self->state.config.request_timeout, caf::connect_atom_v, where.host,
                where.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
            if (session != self->state.masters[index].session)
              return;
            if (auto api = caf::actor_cast<caf::actor>(handle))
              watch(self, index, session, std::move(api));
            else
              reconnect_later(self, index);
          },
          [=](caf::error& err) {
            if (session != self->state.masters[index].session)
              return;
            log::debug("watch", "cannot reach master",
                       {{"master", where.to_string()}, {"error", error_message(err)}});
            reconnect_later(self, index);
          });
}

/// Passes a newer term's leader on to the link.
void on_leader(self_pointer self, uint64_t term, std::string& leader) {
  auto& st = self->state;
  if (term <= st.newest_term || leader.empty())
    return;
  st.newest_term = term;
  self->send(st.config.link, leader_atom::value, term, std::move(leader));
}

/// Watches a master heard of by its beacon, unless it is watched already.
void add_master(self_pointer self, const std::string& address) {
  auto& masters = self->state.masters;
  net::host_port where;
  try {
    where = net::parse_host_port(address);
  } catch (const std::invalid_argument&) {
    return; // the link says so
  }
  for (const auto& known : masters)
    if (known.address.to_string() == where.to_string())
      return;
  if (masters.size() >= max_known_masters)
    return; // the link says so
  masters.push_back({std::move(where), nullptr, 0});
  self->send(self, caf::connect_atom_v, masters.size() - 1, uint64_t{0});
}

caf::behavior leader_watch(self_pointer self, leader_watch_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  for (const auto& address : st.config.masters)
    st.masters.push_back({address, nullptr, 0});
  self->set_down_handler([=](caf::down_msg& down) {
    auto& masters = self->state.masters;
    for (size_t i = 0; i < masters.size(); ++i)
      if (masters[i].api && masters[i].api.address() == down.source)
        reconnect_later(self, i);
  });
  for (size_t i = 0; i < st.masters.size(); ++i)
    self->send(self, caf::connect_atom_v, i, uint64_t{0});
  return {
      [=](caf::connect_atom, size_t index, uint64_t session) { connect(self, index, session); },
      [=](leader_atom, uint64_t term, std::string& leader) { on_leader(self, term, leader); },
      [=](discovered_atom, const std::string& address) { add_master(self, address); },
  };
}

} // namespace

caf::actor spawn_leader_watch(caf::actor_system& system, leader_watch_config config) {
  return system.spawn(leader_watch, std::move(config));
}

} // namespace claud
