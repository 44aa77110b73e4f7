#include "roles/node_context.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "net/guarded_multiplexer.hpp"
#include "net/peer_identities.hpp"
#include "proc/job_cgroups.hpp"
#include "proc/job_identity.hpp"
#include "proc/spawn.hpp"
#include "state/spec_validation.hpp"
#include "state/units.hpp"
#include "storage/started_attempts.hpp"
#include "storage/storage_error.hpp"

namespace claud::roles {

claud_system_config::claud_system_config(const node_options& options) {
  caf::put(content, net::max_message_bytes_key,
           static_cast<size_t>(
               state::parse_memory_bytes(options.max_message_size, "--max-message-size")));
  caf::put(content, net::max_connections_per_address_key,
           static_cast<size_t>(options.max_connections_per_address));
  caf::put(content, net::tls_handshake_timeout_key, options.tls_handshake_timeout_ms);
  configure_tls(*this, options.tls_ca, options.tls_cert, options.tls_key);
  configure_networked_system(*this);
}

actor_stopper::~actor_stopper() {
  // Last started, first stopped: clients of the cluster before its core.
  for (auto i = actors_.rbegin(); i != actors_.rend(); ++i)
    caf::anon_send_exit(*i, caf::exit_reason::user_shutdown);
}

const caf::actor& actor_stopper::add(caf::actor actor) {
  actors_.push_back(std::move(actor));
  return actors_.back();
}

void publish_api(caf::actor_system& system, const caf::actor& api, const net::host_port& where) {
  if (auto* identities = net::identities_of(system))
    identities->add_door(api.id()); // the one actor peers that are not masters may ask
  auto port = system.middleman().publish(api, where.port, where.host.c_str(), true);
  if (!port)
    throw startup_error(fmt::format("cannot listen on {} ({}); is another claud running there? "
                                    "choose another --listen",
                                    where.to_string(), system.render(port.error())));
}

namespace {

/// The slave's cgroups are named after its node id and data dir: two slaves on one machine (even
/// with one node id, in two clusters) never share them, and a restarted slave finds its own.
std::shared_ptr<proc::job_cgroups>
open_job_cgroups(const node_options& options, storage::data_dir& dir, const std::string& node_id) {
  auto mode = options.cgroups == "off"        ? proc::job_cgroups::mode::off
              : options.cgroups == "required" ? proc::job_cgroups::mode::required
                                              : proc::job_cgroups::mode::automatic;
  std::error_code ec;
  auto where = std::filesystem::absolute(dir.path(), ec).lexically_normal().string();
  uint32_t hash = 2166136261u; // FNV-1a: a short, stable name for the path
  for (unsigned char c : where)
    hash = (hash ^ c) * 16777619u;
  try {
    return std::make_shared<proc::job_cgroups>(fmt::format("{}-{:08x}", node_id, hash), mode);
  } catch (const std::runtime_error& e) {
    throw startup_error(e.what());
  }
}

int64_t machine_memory_bytes() {
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page_size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<int64_t>(pages) * page_size : 0;
}

} // namespace

slave_setup prepare_slave(const node_options& options, storage::data_dir& dir,
                          const std::string& node_id, pb::NodeRole role) {
  try {
    proc::raise_descriptor_limit();
  } catch (const std::system_error& e) {
    throw startup_error(fmt::format("cannot raise the limit on open files: {}", e.what()));
  }
  slave_setup setup;
  pb::Node& node = setup.node;
  node.set_id(node_id);
  node.set_incarnation(dir.incarnation());
  node.set_role(role);
  node.set_address(options.listen);
  node.set_state(pb::NODE_ALIVE);
  node.set_cpu_millis_total(options.cpus.empty()
                                ? static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)) * 1000
                                : state::parse_cpu_millis(options.cpus, "--cpus"));
  node.set_memory_bytes_total(options.memory.empty()
                                  ? machine_memory_bytes()
                                  : state::parse_memory_bytes(options.memory, "--memory"));
  for (const auto& label : options.labels) { // validated at start
    std::string key;
    std::string value;
    state::parse_label(label, key, value);
    (*node.mutable_labels())[key] = value;
  }
  auto& supervisor = setup.supervisor;
  supervisor.node_id = node_id;
  supervisor.jobs_dir = dir.subdir("jobs");
  supervisor.kill_grace = std::chrono::milliseconds{options.kill_grace_ms};
  supervisor.log_retention = std::chrono::milliseconds{options.log_retention_ms};
  supervisor.max_output_bytes
      = static_cast<uint64_t>(state::parse_memory_bytes(options.max_output, "--max-output"));
  node.set_max_output_bytes(static_cast<int64_t>(supervisor.max_output_bytes));
  supervisor.min_free_disk_bytes
      = static_cast<uint64_t>(state::parse_memory_bytes(options.min_free_disk, "--min-free-disk"));
  supervisor.cgroups = open_job_cgroups(options, dir, node_id);
  try {
    supervisor.run_as = proc::resolve_job_identity(options.run_as);
    supervisor.allowed_users = proc::resolve_allowed_users(options.allow_users);
  } catch (const std::invalid_argument& e) {
    throw startup_error(e.what());
  }
  node.set_run_as(supervisor.run_as ? supervisor.run_as->user : proc::current_user_name());
  node.set_version(claud_version());
  node.set_tls(!options.tls_ca.empty());
  for (const auto& [user, identity] : supervisor.allowed_users) // a map: sorted, once each
    if (user != node.run_as())
      node.add_allowed_users(user);
  try {
    supervisor.started
        = std::make_shared<storage::started_attempts>(dir.path() + "/started-attempts");
  } catch (const storage::storage_error& e) {
    throw startup_error(e.what());
  }
  const auto& enforced = supervisor.cgroups->enforcement();
  auto* limits = node.mutable_limits();
  limits->set_memory(enforced.memory);
  limits->set_cpu(enforced.cpu);
  limits->set_mechanism(enforced.mechanism);
  limits->set_note(enforced.note);
  if (!enforced.note.empty())
    log::info("slave", "job limits not all enforced",
              {{"memory", enforced.memory ? "yes" : "no"},
               {"cpu", enforced.cpu ? "yes" : "no"},
               {"why", enforced.note}});
  return setup;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

namespace {

/// Once a stop is asked for, the node has this long to finish. Every acknowledged write is on disk
/// before its answer (fsync), so a stop that hangs anyway (CAF 0.17 has known shutdown hangs,
/// CAF-NOTES.md) can lose only what nobody was promised: exiting then beats hanging for ever.
constexpr std::chrono::seconds shutdown_bound{5};

std::mutex stop_error_mutex;
std::string first_stop_error;

void arm_shutdown_deadline() {
  std::thread([] {
    std::this_thread::sleep_for(shutdown_bound);
    std::cerr << "claud: error: the node did not stop within " << shutdown_bound.count()
              << " s of the stop signal and exited anyway; acknowledged work is on disk\n";
    std::_Exit(1);
  }).detach();
}

} // namespace

void wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal = 0;
  sigwait(&set, &signal);
  arm_shutdown_deadline();
}

void stop_with_error(std::string error) {
  {
    std::lock_guard<std::mutex> lock{stop_error_mutex};
    if (first_stop_error.empty())
      first_stop_error = std::move(error);
  }
  ::kill(::getpid(), SIGTERM); // wakes wait_for_stop_signal
}

void stop_on_identity_conflict(const caf::actor& link) {
  link->attach_functor([](const caf::error& reason) {
    if (has_code(reason, errc::conflict))
      stop_with_error(error_message(reason));
  });
}

std::string stop_error() {
  std::lock_guard<std::mutex> lock{stop_error_mutex};
  return first_stop_error;
}

} // namespace claud::roles
