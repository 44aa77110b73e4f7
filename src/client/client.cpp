#include "claud/client.hpp"

#include "client/client_impl.hpp"
#include "net/tls_context.hpp"

namespace claud {

caf::actor_system_config& configure_client_system(caf::actor_system_config& cfg,
                                                  const client_options& options) {
  if (!options.tls_ca.empty() || !options.tls_cert.empty() || !options.tls_key.empty()) {
    try { // checked here: the actor system could only end the process over a bad file
      net::tls_context check{{options.tls_ca, options.tls_cert, options.tls_key}};
    } catch (const net::certificate_error& e) {
      throw client_error(e.what());
    }
    configure_tls(cfg, options.tls_ca, options.tls_cert, options.tls_key);
  }
  configure_networked_system(cfg);
  // A client is short-lived and mostly waits: a few workers are plenty.
  cfg.set("scheduler.max-threads", 2);
  return cfg;
}

void client::impl::connect() {
  std::vector<std::string> failures;
  bool refused = false; // a master closed the connection during CAF's handshake
  for (const auto& text : options.addresses) {
    net::host_port where;
    try {
      where = net::parse_host_port(text);
    } catch (const std::invalid_argument& e) {
      throw client_error(e.what());
    }
    auto handle = net::connect_api(self, where, options.connect_timeout);
    if (handle) {
      api = *handle;
      address = text;
      return;
    }
    refused = refused || handle.error() == caf::sec::disconnect_during_handshake;
    failures.push_back(fmt::format("{} ({})", text, error_message(handle.error())));
  }
  if (refused)
    throw client_error(
        fmt::format("the cluster at {} closed the connection before it was set up: it may use "
                    "TLS (give --tls-ca, --tls-cert and --tls-key, or $CLAUD_TLS_*, with a "
                    "certificate of its CA) or refuse this certificate (its log says why)",
                    fmt::join(failures, ", ")),
        true);
  throw client_error(
      fmt::format("cannot reach the cluster at {}; start one with `claud --role=dev`, or point "
                  "--cluster or CLAUD_ADDR at a running master",
                  fmt::join(failures, ", ")),
      true);
}

void client::impl::reconnect() {
  std::rotate(options.addresses.begin(), options.addresses.begin() + 1, options.addresses.end());
  try {
    connect();
  } catch (const client_error&) {
    // Keep the old handle; the next attempt fails fast and the deadline ends the retries.
  }
}

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
  impl_->connect();
}

client::~client() = default;

const std::string& client::address() const {
  return impl_->address;
}

pb::Job client::submit(const pb::JobSpec& spec) {
  // The key makes the retries of a timeout or a failover safe: the cluster makes one job per key.
  auto keyed = spec;
  if (keyed.idempotency_key().empty())
    keyed.set_idempotency_key(new_idempotency_key());
  try {
    return impl_->request<pb::Job>(impl_->options.attempt_timeout, submit_atom::value, keyed);
  } catch (const client_error& e) {
    // An earlier try may sit in a deposed leader's log and commit once it leads again (the chaos
    // suite saw it): a refusal that follows one is not a refusal of the submission.
    if (!e.maybe_applied())
      throw;
    throw client_error(fmt::format("{}; the submission may or may not have been applied: submit "
                                   "again with --idempotency-key {} to get its job, or to make "
                                   "it once",
                                   e.what(), keyed.idempotency_key()),
                       e.unreachable(), true);
  }
}

pb::Job client::status(const std::string& job_id, read_mode mode) {
  if (mode == read_mode::local)
    return impl_->request<pb::Job>(impl_->options.attempt_timeout, local_atom::value,
                                   status_atom::value, job_id);
  return impl_->request<pb::Job>(impl_->options.attempt_timeout, status_atom::value, job_id);
}

std::vector<pb::Job> client::jobs(read_mode mode) {
  auto list = mode == read_mode::local
                  ? impl_->request<pb::JobList>(impl_->options.attempt_timeout, local_atom::value,
                                                jobs_atom::value)
                  : impl_->request<pb::JobList>(impl_->options.attempt_timeout, jobs_atom::value);
  return {list.jobs().begin(), list.jobs().end()};
}

std::vector<pb::Node> client::nodes(read_mode mode) {
  auto list = mode == read_mode::local
                  ? impl_->request<pb::NodeList>(impl_->options.attempt_timeout, local_atom::value,
                                                 nodes_atom::value)
                  : impl_->request<pb::NodeList>(impl_->options.attempt_timeout, nodes_atom::value);
  return {list.nodes().begin(), list.nodes().end()};
}

pb::Job client::kill(const std::string& job_id) {
  return impl_->request<pb::Job>(impl_->options.attempt_timeout, kill_atom::value, job_id);
}

pb::LeaderInfo client::change_masters(const pb::MembershipChange& change) {
  return impl_->request<pb::LeaderInfo>(impl_->options.attempt_timeout, masters_atom::value,
                                        change);
}

pb::Node client::drain(const std::string& node_id, bool draining, bool migrate) {
  return impl_->request<pb::Node>(impl_->options.attempt_timeout, drain_atom::value, node_id,
                                  draining, migrate);
}

pb::LogChunk client::logs(const pb::LogRequest& request) {
  return impl_->request<pb::LogChunk>(impl_->options.attempt_timeout, logs_atom::value, request);
}

pb::LeaderInfo client::leader(read_mode mode) {
  if (mode == read_mode::local)
    return impl_->request<pb::LeaderInfo>(impl_->options.attempt_timeout, local_atom::value,
                                          leader_atom::value);
  return impl_->request<pb::LeaderInfo>(impl_->options.attempt_timeout, leader_atom::value);
}

} // namespace claud
