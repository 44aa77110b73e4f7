#include "net/peer_identities.hpp"

#include <caf/io/middleman.hpp>

#include "net/guarded_multiplexer.hpp"

namespace claud::net {

bool peer_identities::bind(const caf::node_id& node, const peer_identity& identity) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto [i, added] = nodes_.try_emplace(node);
  auto& e = i->second;
  if (e.connections > 0 && (e.identity.role != identity.role || e.identity.name != identity.name))
    return false;
  if (!added && e.connections == 0)
    --relayed_; // known until now only as relayed
  e.identity = identity;
  e.relayed_by = caf::node_id{};
  ++e.connections;
  return true;
}

void peer_identities::unbind(const caf::node_id& node) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto i = nodes_.find(node);
  if (i != nodes_.end() && i->second.connections > 0 && --i->second.connections == 0)
    nodes_.erase(i);
}

void peer_identities::relay(const caf::node_id& node, const caf::node_id& master) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto i = nodes_.find(node);
  if (i != nodes_.end()) {
    if (i->second.connections == 0) // its own connection, if any, says who it is
      i->second.relayed_by = master;
    return;
  }
  if (relayed_ >= max_relayed)
    forget_relayed_if([](const entry&) { return true; });
  nodes_.emplace(node, entry{peer_identity{peer_role::client, {}, true}, 0, master});
  ++relayed_;
}

template<class Predicate>
void peer_identities::forget_relayed_if(Predicate predicate) {
  for (auto i = nodes_.begin(); i != nodes_.end();)
    if (i->second.connections == 0 && predicate(i->second)) {
      i = nodes_.erase(i);
      --relayed_;
    } else {
      ++i;
    }
}

void peer_identities::forget_relayed(const caf::node_id& master) {
  std::lock_guard<std::mutex> lock{mutex_};
  forget_relayed_if([&](const entry& e) { return e.relayed_by == master; });
}

std::optional<peer_identity> peer_identities::find(const caf::node_id& node) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto i = nodes_.find(node);
  if (i == nodes_.end())
    return std::nullopt;
  return i->second.identity;
}

void peer_identities::add_door(caf::actor_id id) {
  std::lock_guard<std::mutex> lock{mutex_};
  doors_.insert(id);
}

bool peer_identities::is_door(caf::actor_id id) const {
  std::lock_guard<std::mutex> lock{mutex_};
  return doors_.count(id) > 0;
}

peer_identities* identities_of(caf::actor_system& system) {
  if (!system.has_middleman())
    return nullptr;
  auto* mx = dynamic_cast<guarded_multiplexer*>(&system.middleman().backend());
  return mx ? mx->identities() : nullptr;
}

} // namespace claud::net
