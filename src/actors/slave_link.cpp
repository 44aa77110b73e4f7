#include "actors/slave_link.hpp"

#include <set>
#include <utility>

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
  std::string master_address; // HOST:PORT of `master` (or of the one being reached)
  size_t next_master = 0;
  std::string leader_hint; // HOST:PORT a follower named as the leader
  std::string followed;    // HOST:PORT leader_watch named last, until it is asked again once
  uint64_t session = 0;    // counts connections, so timers of an old one are ignored
  static inline const char* name = "slave_link";
};

using self_pointer = caf::stateful_actor<slave_link_state>*;

void drop_master(self_pointer self) {
  auto& st = self->state;
  if (st.master && st.master != st.config.local_api)
    self->demonitor(st.master);
  st.master = nullptr;
  st.master_address.clear();
  st.current = link_state::disconnected;
  ++st.session;
}

void retry_later(self_pointer self) {
  drop_master(self);
  self->delayed_send(self, self->state.config.retry_interval, caf::connect_atom_v);
}

void register_with(self_pointer self, caf::actor master);

/// What a master's refusal means for the link: go to the leader it names, register again, or
/// start over.
void on_master_error(self_pointer self, const caf::error& err) {
  if (has_code(err, errc::not_leader)) {
    auto leader = error_message(err);
    log::info("link", "redirected", {{"leader", leader.empty() ? "unknown" : leader}});
    auto& st = self->state;
    if (leader.empty() && !st.followed.empty() && st.master_address == st.followed) {
      // The leader a master named, asked before it knew it had won (the news of its election
      // can reach us first): ask it again after the retry interval, once, rather than walk the
      // list into the old leader, which may be frozen while the new one's registration grace
      // runs out.
      st.leader_hint = std::exchange(st.followed, {});
      retry_later(self);
      return;
    }
    st.leader_hint = leader;
    if (!leader.empty()) {
      drop_master(self);
      self->send(self, caf::connect_atom_v);
      return;
    }
  } else if (has_code(err, errc::not_found) && self->state.master) {
    register_with(self, self->state.master); // a new leader that does not know us yet
    return;
  } else if (has_code(err, errc::conflict)) {
    // Its node id belongs to another live node: retrying cannot help, and must not succeed the
    // moment that node goes down. The slave stops with the reason.
    log::info("link", "registration refused", {{"error", error_message(err)}});
    self->quit(err);
    return;
  } else {
    log::warn("link", "master refused", {{"error", error_message(err)}});
  }
  retry_later(self);
}

void ping(self_pointer self, uint64_t session) {
  auto& st = self->state;
  if (session != st.session || st.current != link_state::registered)
    return;
  self->request(st.master, st.config.request_timeout, ping_atom::value, st.config.node.id())
      .then(
          [=]() {
            if (session == self->state.session)
              self->delayed_send(self, self->state.config.ping_interval, ping_atom::value, session);
          },
          [=](caf::error& err) {
            if (session == self->state.session)
              on_master_error(self, err);
          });
}

void register_with(self_pointer self, caf::actor master) {
  auto& st = self->state;
  if (st.master != master) {
    st.master = master;
    if (master != st.config.local_api)
      self->monitor(master);
  }
  st.current = link_state::registering;
  auto session = st.session;
  self->request(st.config.supervisor, st.config.request_timeout, report_atom::value)
      .then(
          [=](pb::SlaveReport& report) {
            auto& st = self->state;
            *report.mutable_node() = st.config.node;
            self->request(master, st.config.request_timeout, register_atom::value, report,
                          st.config.supervisor)
                .then(
                    [=]() {
                      auto& st = self->state;
                      if (session != st.session)
                        return;
                      st.current = link_state::registered;
                      st.leader_hint.clear();
                      log::info("link", "registered", {{"node", st.config.node.id()}});
                      self->send(st.config.supervisor, resend_atom::value);
                      self->delayed_send(self, st.config.ping_interval, ping_atom::value, session);
                    },
                    [=](caf::error& err) {
                      if (session != self->state.session)
                        return;
                      // Slow to commit, not gone (a gone master closes the connection, a
                      // deposed one is replaced by leader_watch's news): ask it again rather
                      // than walk the list while it waits for us. A slave that stopped talking
                      // to its leader would be lost for its silence.
                      if (err == caf::sec::request_timeout) {
                        log::info("link", "registration not answered yet, asking again");
                        register_with(self, master);
                        return;
                      }
                      on_master_error(self, err);
                    });
          },
          [=](caf::error& err) {
            log::error("link", "supervisor did not report", {{"error", error_message(err)}});
            retry_later(self);
          });
}

/// The leader a follower named, else the next master of the list.
net::host_port next_address(slave_link_state& st) {
  if (!st.leader_hint.empty()) {
    auto hint = std::move(st.leader_hint);
    st.leader_hint.clear();
    try {
      return net::parse_host_port(hint);
    } catch (const std::invalid_argument&) {
      log::warn("link", "ignoring a malformed leader address", {{"leader", hint}});
    }
  }
  return st.config.masters[st.next_master++ % st.config.masters.size()];
}

void connect(self_pointer self) {
  auto& st = self->state;
  if (st.current != link_state::disconnected)
    return;
  if (st.config.local_api) {
    register_with(self, st.config.local_api);
    return;
  }
  if (st.config.masters.empty() && st.leader_hint.empty())
    return; // no master known yet: the first one discovery hears of connects the link
  st.current = link_state::connecting;
  auto where = next_address(st);
  st.master_address = where.to_string();
  auto session = st.session;
  auto middleman = self->home_system().middleman().actor_handle();
  self->request(middleman, st.config.request_timeout, caf::connect_atom_v, where.host, where.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
            if (session != self->state.session)
              return;
            auto master = caf::actor_cast<caf::actor>(handle);
            if (!master) {
              retry_later(self);
              return;
            }
            // Announced at once: the registration waits for the supervisor's report, which waits
            // behind whatever it is doing (a slow spawn), and a new leader's grace must not run
            // out meanwhile. A leader answers not_found; nothing else is expected.
            self->request(master, self->state.config.request_timeout, ping_atom::value,
                          self->state.config.node.id())
                .then([] {}, [](caf::error&) {});
            register_with(self, master);
          },
          [=](caf::error& err) {
            if (session != self->state.session)
              return;
            log::debug("link", "cannot reach master",
                       {{"master", where.to_string()}, {"error", error_message(err)}});
            retry_later(self);
          });
}

/// A master told the leader_watch of a newer term's leader: go there now, unless already with it.
/// The old leader may be frozen with its connection open, and waiting for its ping to time out
/// would leave the new leader's registration grace to declare this slave lost.
void follow(self_pointer self, uint64_t term, const std::string& leader) {
  auto& st = self->state;
  if (st.config.local_api || leader == st.master_address)
    return;
  log::info("link", "following a new leader", {{"leader", leader}, {"term", std::to_string(term)}});
  drop_master(self);
  st.leader_hint = leader;
  st.followed = leader;
  connect(self);
}

caf::result<caf::unit_t> forward_reports(self_pointer self, pb::SlaveReport& reports) {
  auto& st = self->state;
  if (st.current != link_state::registered)
    return make_error(errc::unavailable, "not registered with a leader");
  auto promise = self->make_response_promise();
  auto session = st.session;
  self->request(st.master, st.config.request_timeout, report_atom::value, st.config.node.id(),
                reports)
      .then([=]() mutable { promise.deliver(caf::unit); },
            [=](caf::error& err) mutable {
              if (session == self->state.session
                  && (has_code(err, errc::not_leader) || has_code(err, errc::not_found)))
                on_master_error(self, err);
              promise.deliver(std::move(err));
            });
  return promise;
}

/// Adds a master heard of by its beacon to those the link tries, and tries it at once when the
/// link knew none.
void add_master(self_pointer self, const std::string& address) {
  auto& masters = self->state.config.masters;
  net::host_port where;
  try {
    where = net::parse_host_port(address);
  } catch (const std::invalid_argument&) {
    log::warn("link", "ignoring a malformed master address", {{"master", address}});
    return;
  }
  for (const auto& known : masters)
    if (known.to_string() == where.to_string())
      return;
  if (masters.size() >= max_known_masters) {
    log::warn("link", "ignoring a master: too many known",
              {{"master", address}, {"known", std::to_string(masters.size())}});
    return;
  }
  masters.push_back(std::move(where));
  if (masters.size() == 1)
    connect(self);
}

caf::behavior slave_link(self_pointer self, slave_link_config config) {
  self->state.config = std::move(config);
  self->set_down_handler([=](caf::down_msg& down) {
    if (down.source != self->state.master.address())
      return;
    log::warn("link", "lost the master, reconnecting");
    drop_master(self);
    self->send(self, caf::connect_atom_v); // another master may lead already
  });
  self->send(self->state.config.supervisor, link_to_atom::value, caf::actor_cast<caf::actor>(self));
  self->send(self, caf::connect_atom_v);
  return {
      [=](caf::connect_atom) { connect(self); },
      [=](ping_atom, uint64_t session) { ping(self, session); },
      [=](leader_atom, uint64_t term, const std::string& leader) { follow(self, term, leader); },
      [=](report_atom, pb::SlaveReport& reports) { return forward_reports(self, reports); },
      [=](discovered_atom, const std::string& address) { add_master(self, address); },
      [=](disk_atom, const std::string& note) {
        // The node record carries it; registering again updates the leader's.
        auto& st = self->state;
        st.config.node.set_disk_note(note);
        if (st.current == link_state::registered)
          register_with(self, st.master);
      },
  };
}

} // namespace

caf::actor spawn_slave_link(caf::actor_system& system, slave_link_config config) {
  return system.spawn(slave_link, std::move(config));
}

} // namespace claud
