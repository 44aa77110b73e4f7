#include "actors/peer_directory.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "net/address.hpp"

namespace claud {

namespace {

struct peer {
  net::host_port where;
  caf::actor api;
  bool connecting = false;
  std::vector<caf::response_promise> waiting; // lookups until the connection settles
  std::deque<pb::RaftMessage> queued;         // raft messages until the connection settles
};

/// Raft messages kept for a peer being connected; older ones are dropped first (raft resends).
constexpr size_t max_queued_messages = 64;
/// Masters known at once: the members, and masters that reached this one before it learnt the
/// membership (a learner answers its leader before the log names it).
constexpr size_t max_peers = 64;

struct peer_directory_state {
  peer_directory_config config;
  std::map<std::string, peer> peers;
  caf::actor subscriber;
  bool keeping = false; // connections are kept from the first tick on
  static inline const char* name = "peer_directory";
};

using self_pointer = caf::stateful_actor<peer_directory_state>*;

void settle(self_pointer self, peer& p, const caf::error& failure) {
  for (auto& promise : p.waiting) {
    if (p.api)
      promise.deliver(p.api);
    else
      promise.deliver(failure);
  }
  p.waiting.clear();
  if (p.api)
    for (auto& message : p.queued)
      self->send(p.api, raft_atom::value, std::move(message));
  p.queued.clear();
}

void connect(self_pointer self, const std::string& address) {
  auto& p = self->state.peers.at(address);
  if (p.api || p.connecting)
    return;
  p.connecting = true;
  auto middleman = self->home_system().middleman().actor_handle();
  self->request(middleman, self->state.config.connect_timeout, caf::connect_atom_v, p.where.host,
                p.where.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
            auto i = self->state.peers.find(address);
            if (i == self->state.peers.end())
              return; // no longer a master
            auto& p = i->second;
            p.connecting = false;
            p.api = caf::actor_cast<caf::actor>(handle);
            if (p.api) {
              self->monitor(p.api);
              log::info("peers", "connected", {{"master", address}});
              if (self->state.subscriber)
                self->send(self->state.subscriber, peer_up_atom::value, address, p.api);
            }
            settle(self, p,
                   make_error(errc::unavailable, fmt::format("master {} is unreachable", address)));
          },
          [=](caf::error& err) {
            auto i = self->state.peers.find(address);
            if (i == self->state.peers.end())
              return;
            auto& p = i->second;
            p.connecting = false;
            log::debug("peers", "cannot connect",
                       {{"master", address}, {"error", error_message(err)}});
            settle(self, p,
                   make_error(errc::unavailable, fmt::format("master {} is unreachable ({})",
                                                             address, error_message(err))));
          });
}

void on_down(self_pointer self, const caf::down_msg& down) {
  for (auto& [address, p] : self->state.peers) {
    if (!p.api || p.api.address() != down.source)
      continue;
    p.api = nullptr;
    log::info("peers", "connection closed", {{"master", address}});
    if (self->state.subscriber)
      self->send(self->state.subscriber, peer_down_atom::value, address);
    return;
  }
}

/// Adds `address` as a peer; false when it is malformed or the table is full.
bool add_peer(self_pointer self, const std::string& address) {
  auto& peers = self->state.peers;
  if (peers.count(address))
    return true;
  if (peers.size() >= max_peers)
    return false;
  try {
    auto where = net::parse_host_port(address);
    peers[address].where = std::move(where);
  } catch (const std::invalid_argument& e) {
    log::warn("peers", "not a master's address", {{"address", address}, {"error", e.what()}});
    return false;
  }
  return true;
}

/// The membership changed: connections to masters no longer in it are forgotten (their
/// lookups fail), new ones are opened.
void set_peers(self_pointer self, const std::vector<std::string>& addresses) {
  auto& peers = self->state.peers;
  for (auto i = peers.begin(); i != peers.end();) {
    if (std::find(addresses.begin(), addresses.end(), i->first) != addresses.end()) {
      ++i;
      continue;
    }
    if (i->second.api)
      self->demonitor(i->second.api);
    settle(self, i->second,
           make_error(errc::unavailable, fmt::format("{} is no longer a master", i->first)));
    log::info("peers", "no longer a master", {{"master", i->first}});
    i = peers.erase(i);
  }
  for (const auto& address : addresses)
    if (add_peer(self, address) && self->state.keeping)
      connect(self, address);
}

caf::behavior peer_directory(self_pointer self, peer_directory_config config) {
  for (const auto& address : config.peers)
    self->state.peers[address].where = net::parse_host_port(address);
  self->state.config = std::move(config);
  self->set_down_handler([=](caf::down_msg& down) { on_down(self, down); });
  return {
      [=](relay_atom, const std::string& address, pb::RaftMessage& message) {
        // Only raft writes here, to masters that wrote to it first or are members.
        if (!add_peer(self, address))
          return;
        auto i = self->state.peers.find(address);
        auto& p = i->second;
        if (p.api) {
          self->send(p.api, raft_atom::value, std::move(message));
          return;
        }
        if (p.queued.size() == max_queued_messages)
          p.queued.pop_front();
        p.queued.push_back(std::move(message));
        connect(self, address);
      },
      [=](lookup_atom, const std::string& address) -> caf::result<caf::actor> {
        auto i = self->state.peers.find(address);
        if (i == self->state.peers.end())
          return make_error(errc::unavailable, fmt::format("{} is not a master", address));
        if (i->second.api)
          return i->second.api;
        auto promise = self->make_response_promise();
        i->second.waiting.push_back(promise);
        connect(self, address);
        return promise;
      },
      [=](tick_atom) {
        // Connections to every master are kept open, so that a campaign's first messages (and
        // the CAF monitors that detect a dead leader) are ready when they are needed.
        self->state.keeping = true;
        for (const auto& [address, p] : self->state.peers)
          connect(self, address);
        self->delayed_send(self, self->state.config.retry_interval, tick_atom::value);
      },
      [=](peers_atom, const std::vector<std::string>& addresses) { set_peers(self, addresses); },
      [=](discovered_atom, const std::string& address, const std::string& node_id) {
        // Masters join only through the log (`claud masters add`): one heard of by its beacon
        // that is not among them is the operator's to add, or a stray.
        if (!self->state.peers.count(address))
          log::warn("peers",
                    "heard a master that is not a member; add it with `claud masters "
                    "add ADDRESS` if it should be one",
                    {{"node", node_id}, {"address", address}});
      },
      [=](subscribe_atom, caf::actor& subscriber) {
        self->state.subscriber = std::move(subscriber);
      },
  };
}

} // namespace

caf::actor spawn_peer_directory(caf::actor_system& system, peer_directory_config config) {
  return system.spawn(peer_directory, std::move(config));
}

} // namespace claud
