#include "actors/slave_link.hpp"

#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"

namespace claud {

namespace {

enum class link_state { disconnected, connecting, registering, registered };

struct slave_link_state {
  slave_link_config config;
  link_state current = link_state::disconnected;
  caf::actor master;
  size_t next_master = 0;
  static inline const char* name = "slave_link";
};

using self_pointer = caf::stateful_actor<slave_link_state>*;

void retry_later(self_pointer self) {
  auto& st = self->state;
  if (st.master)
    self->demonitor(st.master);
  st.master = nullptr;
  st.current = link_state::disconnected;
  self->delayed_send(self, st.config.retry_interval, caf::connect_atom_v);
}

void register_with(self_pointer self, caf::actor master) {
  auto& st = self->state;
  st.master = master;
  st.current = link_state::registering;
  self->monitor(master);
  self->request(st.config.supervisor, st.config.request_timeout, report_atom::value)
    .then(
      [=](pb::SlaveReport& report) {
        auto& st = self->state;
        *report.mutable_node() = st.config.node;
        self->request(master, st.config.request_timeout, register_atom::value, report,
                      st.config.supervisor)
          .then(
            [=]() {
              self->state.current = link_state::registered;
              log::info("link", "registered", {{"node", self->state.config.node.id()}});
              self->send(self->state.config.supervisor, resend_atom::value);
            },
            [=](caf::error& err) {
              log::warn("link", "registration failed", {{"error", error_message(err)}});
              retry_later(self);
            });
      },
      [=](caf::error& err) {
        log::error("link", "supervisor did not report", {{"error", error_message(err)}});
        retry_later(self);
      });
}

void connect(self_pointer self) {
  auto& st = self->state;
  if (st.current != link_state::disconnected)
    return;
  if (st.config.local_api) {
    register_with(self, st.config.local_api);
    return;
  }
  st.current = link_state::connecting;
  const auto& where = st.config.masters[st.next_master++ % st.config.masters.size()];
  auto middleman = self->home_system().middleman().actor_handle();
  self->request(middleman, st.config.request_timeout, caf::connect_atom_v, where.host, where.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
        auto master = caf::actor_cast<caf::actor>(handle);
        if (!master) {
          retry_later(self);
          return;
        }
        register_with(self, master);
      },
      [=](caf::error& err) {
        log::debug("link", "cannot reach master",
                   {{"master", where.to_string()}, {"error", error_message(err)}});
        retry_later(self);
      });
}

caf::result<caf::unit_t> forward_report(self_pointer self, pb::JobReport& report) {
  auto& st = self->state;
  if (st.current != link_state::registered)
    return make_error(errc::unavailable, "not registered with a master");
  auto promise = self->make_response_promise();
  self->request(st.master, st.config.request_timeout, report_atom::value, st.config.node.id(),
                report)
    .then([=]() mutable { promise.deliver(caf::unit); },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

caf::behavior slave_link(self_pointer self, slave_link_config config) {
  self->state.config = std::move(config);
  self->set_down_handler([=](caf::down_msg& down) {
    if (down.source != self->state.master.address())
      return;
    log::warn("link", "lost the master, reconnecting");
    retry_later(self);
  });
  self->send(self->state.config.supervisor, link_to_atom::value,
             caf::actor_cast<caf::actor>(self));
  self->send(self, caf::connect_atom_v);
  return {
    [=](caf::connect_atom) { connect(self); },
    [=](report_atom, pb::JobReport& report) { return forward_report(self, report); },
  };
}

} // namespace

caf::actor spawn_slave_link(caf::actor_system& system, slave_link_config config) {
  return system.spawn(slave_link, std::move(config));
}

} // namespace claud
