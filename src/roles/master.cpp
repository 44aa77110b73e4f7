// Composition root of a master (and of the dev node, which adds a slave in the same process):
// builds the actors, wires them, publishes the api and runs until stopped.

#include <algorithm>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "actors/api.hpp"
#include "actors/event_hub.hpp"
#include "actors/internal_atoms.hpp"
#include "actors/job_supervisor.hpp"
#include "actors/leader_election.hpp"
#include "actors/peer_directory.hpp"
#include "actors/resource_tracker.hpp"
#include "actors/scheduler.hpp"
#include "actors/slave_link.hpp"
#include "log/log.hpp"
#include "roles/discovery.hpp"
#include "roles/node_context.hpp"
#include "roles/rejoin.hpp"
#include "state/units.hpp"
#include "storage/log_store.hpp"

namespace claud::roles {

namespace {

/// The voting masters a new cluster starts with: this one first (--listen), then the other
/// masters from --join. The list may name this master too (it is skipped), so every master can be
/// given the same one. With --joining, only the others: this master is not a member until the
/// cluster adds it (the membership in the log and snapshots supersedes this list anyway).
std::vector<std::string> master_addresses(const node_options& options) {
  auto self = net::parse_host_port(options.listen).to_string();
  std::vector<std::string> masters{self};
  if (options.joining)
    masters.clear();
  if (options.join.empty())
    return masters;
  bool named_self = false;
  for (const auto& peer : net::parse_host_port_list(options.join)) {
    auto address = peer.to_string();
    bool twice = address == self
                     ? named_self
                     : std::find(masters.begin(), masters.end(), address) != masters.end();
    if (twice)
      throw startup_error(fmt::format("--join names master {} twice", address));
    if (address == self)
      named_self = true;
    else
      masters.push_back(address);
  }
  if (masters.empty())
    throw startup_error("--joining: --join must name the running cluster's other masters");
  return masters;
}

/// The master's actors, wired: peers (returned in `peers_out`), leader_election, tracker,
/// scheduler; returns the api.
caf::actor spawn_master(caf::actor_system& system, actor_stopper& actors,
                        const node_options& options, leader_election_config election,
                        caf::actor& peers_out) {
  peer_directory_config peers_config;
  for (const auto& address : election.masters)
    if (address != election.address)
      peers_config.peers.push_back(address);
  auto peers = actors.add(spawn_peer_directory(system, peers_config));
  peers_out = peers;
  election.peers = peers;
  event_hub_config events_config;
  events_config.address = election.address;
  events_config.limits.history_events = static_cast<size_t>(options.event_history);
  events_config.limits.max_lag_events = static_cast<size_t>(options.event_max_lag);
  events_config.limits.lease_ms = options.event_lease_ms;
  // A subscriber acknowledges only what it is sent, so keepalives must come well inside the
  // lease: at a second each, a lease of a second (the least allowed) ran out between two of them.
  events_config.limits.keepalive_ms
      = std::min<int64_t>(events_config.limits.keepalive_ms, options.event_lease_ms / 3);
  events_config.limits.max_subscribers = static_cast<size_t>(options.max_subscriptions);
  auto events = actors.add(spawn_event_hub(system, events_config));
  election.events = events;
  auto leader = actors.add(spawn_leader_election(system, std::move(election)));
  leader->attach_functor([](const caf::error& reason) {
    if (has_code(reason, errc::storage_failure)) // not the user_shutdown of a normal stop
      stop_with_error("the master stopped because its log could not be written; see the log "
                      "line above");
  });
  resource_tracker_config tracker_config;
  tracker_config.leader_election = leader;
  tracker_config.registration_grace = std::chrono::milliseconds{options.registration_grace_ms};
  tracker_config.slave_timeout = std::chrono::milliseconds{options.slave_timeout_ms};
  auto tracker = actors.add(spawn_resource_tracker(system, tracker_config));
  scheduler_config scheduler_config;
  scheduler_config.leader_election = leader;
  scheduler_config.job_retention = std::chrono::milliseconds{options.job_retention_ms};
  auto scheduler = actors.add(spawn_scheduler(system, scheduler_config));
  api_config api_config;
  api_config.scheduler = scheduler;
  api_config.leader_election = leader;
  api_config.resource_tracker = tracker;
  api_config.peers = peers;
  api_config.events = events;
  api_config.wait_poll = std::chrono::milliseconds{options.wait_poll_ms};
  api_config.health.data_dir = options.data_dir;
  api_config.health.min_free_disk_bytes
      = static_cast<uint64_t>(state::parse_memory_bytes(options.min_free_disk, "--min-free-disk"));
  api_config.health.tls = !options.tls_ca.empty();
  return actors.add(spawn_api(system, api_config));
}

/// The dev node's slave half: a supervisor whose link talks to `api` in-process.
void spawn_local_slave(caf::actor_system& system, actor_stopper& actors,
                       const node_options& options, storage::data_dir& dir,
                       const std::string& node_id, const caf::actor& api) {
  auto setup = prepare_slave(options, dir, node_id, pb::ROLE_DEV);
  slave_link_config link_config;
  link_config.node = setup.node;
  link_config.local_api = api;
  link_config.supervisor = actors.add(spawn_job_supervisor(system, setup.supervisor));
  stop_on_identity_conflict(actors.add(spawn_slave_link(system, link_config)));
}

/// For a master whose raft log was never written, among masters whose log was: takes it out of
/// the membership before it listens (rejoin.hpp) and has it start as a --joining master would;
/// returns whether it rejoins, and then it must ask to be added once it listens.
bool leave_to_rejoin(caf::actor_system& system, const node_options& options,
                     leader_election_config& election) {
  if (options.joining || election.log->last_index() != 0 || election.log->hard_state().term() != 0)
    return false;
  std::vector<std::string> others;
  for (const auto& address : election.masters)
    if (address != election.address)
      others.push_back(address);
  if (others.empty())
    return false;
  auto view = existing_cluster(system, others, std::chrono::seconds{1});
  if (!view)
    return false;
  log::warn("master",
            "this master's raft log is empty but the cluster's is not (its data dir is new or "
            "was lost): it rejoins as a learner and votes once it has caught up",
            {{"asked", view->served_by()}});
  for (const auto& m : view->masters())
    if (m.address() == election.address && m.role() != "not a member") {
      pb::MembershipChange leave;
      leave.set_kind(pb::MembershipChange::REMOVE);
      leave.set_address(election.address);
      change_own_membership(system, others, leave, std::chrono::seconds{10});
    }
  election.masters = std::move(others);
  return true;
}

} // namespace

int run_master(const node_options& options, storage::data_dir& dir, const std::string& node_id,
               bool with_slave) {
  auto where = net::parse_host_port(options.listen);
  // The log is opened before anything listens: a corrupt log stops the master before it serves.
  leader_election_config election;
  election.node_id = node_id;
  election.address = where.to_string();
  election.masters = master_addresses(options);
  election.log = storage::make_file_log_store(dir.subdir("raft"));
  election.tick = std::chrono::milliseconds{raft_tick_ms};
  election.heartbeat_ticks = static_cast<int>(options.heartbeat_ms / raft_tick_ms);
  election.election_ticks = static_cast<int>(options.election_timeout_ms / raft_tick_ms);
  election.seed = std::random_device{}();

  claud_system_config cfg{options};
  caf::actor_system system{cfg};
  {
    actor_stopper actors; // stops them all before `system` waits for them, also on errors
    auto peers = caf::actor{};
    const bool rejoining = leave_to_rejoin(system, options, election);
    const auto others = election.masters; // when rejoining, the masters but this one
    auto api = spawn_master(system, actors, options, std::move(election), peers);
    publish_api(system, api, where);
    caf::anon_send(peers, tick_atom::value); // connect to the other masters only now
    if (rejoining) {
      pb::MembershipChange join;
      join.set_kind(pb::MembershipChange::ADD_LEARNER);
      join.set_address(where.to_string());
      change_own_membership(system, others, join, std::chrono::seconds{10});
    }
    if (with_slave)
      spawn_local_slave(system, actors, options, dir, node_id, api);
    auto discovery = start_discovery(
        options, node_id, dir.incarnation(), with_slave ? pb::ROLE_DEV : pb::ROLE_MASTER,
        [peers](const pb::Beacon& beacon, const std::string&) {
          // The peer directory follows the membership, so it knows whether this master is one.
          if (beacon.role() == pb::ROLE_MASTER)
            caf::anon_send(peers, discovered_atom::value, beacon.address(), beacon.node_id());
        });
    std::cout << fmt::format("claud {} {} listening on {} (data dir {})", options.role, node_id,
                             where.to_string(), dir.path())
              << std::endl;
    wait_for_stop_signal();
    log::info("master", "stopping");
  }
  return 0;
}

} // namespace claud::roles
