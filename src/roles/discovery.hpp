#pragma once
// A node's UDP discovery (--secret-file): it beacons who it is, and hands on what it hears.

#include <functional>
#include <memory>
#include <string>

#include "discovery.pb.h"
#include "net/beacon_service.hpp"
#include "roles/node_options.hpp"

namespace claud::roles {

/// Starts the node's beacons when --secret-file is given (else returns null): it announces this
/// node (`node_id`, `incarnation`, `role`, --listen) every --beacon-interval-ms to --discovery,
/// and passes each beacon that tells of a new node, role or address to `on_news`, on the beacon
/// thread. Throws startup_error with one line (an unreadable secret, a port it cannot bind).
std::unique_ptr<net::beacon_service>
start_discovery(const node_options& options, const std::string& node_id, uint64_t incarnation,
                pb::NodeRole role,
                std::function<void(const pb::Beacon& beacon, const std::string& from)> on_news);

/// Whether a beacon is a master's (or a dev node's, which leads a cluster of its own).
bool leads_clusters(const pb::Beacon& beacon);

} // namespace claud::roles
