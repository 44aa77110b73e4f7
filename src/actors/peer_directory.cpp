#include "actors/peer_directory.hpp"

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
  caf::actor_clock::time_point next_attempt{};
  std::vector<caf::response_promise> waiting; // lookups until the connection settles
};

struct peer_directory_state {
  peer_directory_config config;
  std::map<std::string, peer> peers;
  caf::actor subscriber;
  static inline const char* name = "peer_directory";
};

using self_pointer = caf::stateful_actor<peer_directory_state>*;

void settle(peer& p, const caf::error& failure) {
  for (auto& promise : p.waiting) {
    if (p.api)
      promise.deliver(p.api);
    else
      promise.deliver(failure);
  }
  p.waiting.clear();
}

void connect(self_pointer self, const std::string& address) {
  auto& p = self->state.peers.at(address);
  auto now = self->clock().now();
  if (p.api || p.connecting || now < p.next_attempt)
    return;
  p.connecting = true;
  p.next_attempt = now + self->state.config.retry_interval;
  auto middleman = self->home_system().middleman().actor_handle();
  self->request(middleman, self->state.config.connect_timeout, caf::connect_atom_v, p.where.host,
                p.where.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
        auto& p = self->state.peers.at(address);
        p.connecting = false;
        p.api = caf::actor_cast<caf::actor>(handle);
        if (p.api) {
          self->monitor(p.api);
          log::info("peers", "connected", {{"master", address}});
        }
        settle(p, make_error(errc::unavailable, fmt::format("master {} is unreachable", address)));
      },
      [=](caf::error& err) {
        auto& p = self->state.peers.at(address);
        p.connecting = false;
        log::debug("peers", "cannot connect", {{"master", address}, {"error", error_message(err)}});
        settle(p, make_error(errc::unavailable,
                             fmt::format("master {} is unreachable ({})", address,
                                         error_message(err))));
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

caf::behavior peer_directory(self_pointer self, peer_directory_config config) {
  for (const auto& address : config.peers)
    self->state.peers[address].where = net::parse_host_port(address);
  self->state.config = std::move(config);
  self->set_down_handler([=](caf::down_msg& down) { on_down(self, down); });
  return {
    [=](relay_atom, const std::string& address, pb::RaftMessage& message) {
      auto i = self->state.peers.find(address);
      if (i == self->state.peers.end())
        return;
      if (i->second.api)
        self->send(i->second.api, raft_atom::value, std::move(message));
      else
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
      i->second.next_attempt = {}; // a client waits: try now
      connect(self, address);
      return promise;
    },
    [=](subscribe_atom, caf::actor& subscriber) { self->state.subscriber = std::move(subscriber); },
  };
}

} // namespace

caf::actor spawn_peer_directory(caf::actor_system& system, peer_directory_config config) {
  return system.spawn(peer_directory, std::move(config));
}

} // namespace claud
