#include "claud/client.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "claud/protocol.hpp"
#include "net/address.hpp"
#include "net/connect_api.hpp"
#include "net/tls_context.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

/// How long a master may answer "no leader" before the client asks another: several election
/// timeouts (300 ms by default), so a normal election is waited out where it is.
constexpr std::chrono::milliseconds no_leader_patience{1500};

caf::actor_system_config& configure(caf::actor_system_config& cfg, const client_options& options) {
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

/// 128 random bits in hex: no two submissions share one by chance.
std::string new_idempotency_key() {
  std::random_device random;
  return fmt::format("c-{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

} // namespace

struct client::impl {
  client_options options;
  caf::actor_system_config cfg;
  caf::actor_system system;
  caf::scoped_actor self;
  caf::actor api;
  std::string address;

  explicit impl(client_options opts)
      : options(std::move(opts)), system(configure(cfg, options)), self(system) {}

  void connect() {
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

  /// One request, answered or failed.
  template<class Result, class... Ts>
  caf::expected<Result> attempt(std::chrono::milliseconds timeout, const Ts&... xs) {
    caf::expected<Result> outcome{caf::sec::request_timeout};
    self->request(api, timeout, xs...)
        .receive([&](Result& value) { outcome = std::move(value); },
                 [&](caf::error& err) { outcome = std::move(err); });
    return outcome;
  }

  /// Whether the request may go again: no leader yet, a leader change that discarded the write,
  /// or one that left its outcome unknown (every write is idempotent: a submission by its key).
  static bool retryable(const caf::error& err) {
    return has_code(err, errc::unavailable) || has_code(err, errc::not_leader)
           || has_code(err, errc::outcome_unknown);
  }

  /// Whether the master we talk to went away; an idempotent request then goes to another one.
  static bool connection_lost(const caf::error& err) {
    return err == caf::sec::request_receiver_down || err == caf::sec::request_timeout;
  }

  /// Sends the request, retrying through failovers and lost masters until
  /// `options.request_timeout` has passed. Every request is safe to send again: reads and kills
  /// and drains are idempotent, and a submission carries its idempotency key.
  template<class Result, class... Ts>
  Result request(std::chrono::milliseconds timeout, const Ts&... xs) {
    auto deadline = std::chrono::steady_clock::now() + options.request_timeout;
    auto backoff = std::chrono::milliseconds{20};
    bool maybe_applied = false; // a try may have reached a leader's log
    // Since when this master has known no leader; an election ends well within no_leader_patience,
    // so past it the master is more likely cut off from the majority than waiting for one.
    std::optional<std::chrono::steady_clock::time_point> no_leader_since;
    for (;;) {
      auto outcome = attempt<Result>(timeout, xs...);
      if (outcome)
        return std::move(*outcome);
      const auto& err = outcome.error();
      bool lost = connection_lost(err);
      const auto now = std::chrono::steady_clock::now();
      if (!has_code(err, errc::unavailable))
        no_leader_since.reset();
      else if (!no_leader_since)
        no_leader_since = now;
      // A master outside the membership, or cut off from it, learns of no leader: another one
      // may know it.
      bool ask_another = lost || has_code(err, errc::not_member)
                         || (no_leader_since && now - *no_leader_since >= no_leader_patience);
      if (ask_another)
        no_leader_since.reset();
      maybe_applied = maybe_applied || lost || has_code(err, errc::outcome_unknown);
      if (!retryable(err) && !ask_another)
        throw client_error(error_message(err));
      if (std::chrono::steady_clock::now() + backoff > deadline)
        throw client_error(fmt::format("{}; gave up after {:g} s of retries", error_message(err),
                                       static_cast<double>(options.request_timeout.count()) / 1000),
                           lost, maybe_applied);
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds{500});
      if (ask_another)
        reconnect();
    }
  }

  /// After losing the master: the next address that answers (wrapping around the list).
  void reconnect() {
    std::rotate(options.addresses.begin(), options.addresses.begin() + 1, options.addresses.end());
    try {
      connect();
    } catch (const client_error&) {
      // Keep the old handle; the next attempt fails fast and the deadline ends the retries.
    }
  }
};

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

pb::Job client::wait(const std::string& job_id) {
  // The master answers a wait after at most its poll period, so each round has a short bound and
  // a master that dies mid-wait is noticed; a job that has not ended yet is simply asked again.
  for (;;) {
    auto job = impl_->request<pb::Job>(impl_->options.wait_round_timeout, wait_atom::value, job_id);
    if (state::is_terminal(job.state()))
      return job;
  }
}

std::vector<pb::Job> client::wait_all(const std::vector<std::string>& job_ids) {
  std::map<std::string, pb::Job> ended;
  for (size_t first = 0; first < job_ids.size(); first += max_jobs_per_wait) {
    pb::JobIds waiting;
    for (size_t i = first; i < std::min(job_ids.size(), first + max_jobs_per_wait); ++i)
      if (!ended.count(job_ids[i])) // named twice
        waiting.add_ids(job_ids[i]);
    // As for one job: each round is bounded by the master's poll period, then asks again for the
    // jobs that have not ended.
    while (waiting.ids_size() > 0) {
      auto records = impl_->request<pb::JobList>(impl_->options.wait_round_timeout,
                                                 wait_atom::value, waiting);
      waiting.clear_ids();
      for (auto& job : *records.mutable_jobs())
        if (state::is_terminal(job.state()))
          ended[job.id()] = std::move(job);
        else
          waiting.add_ids(job.id());
    }
  }
  std::vector<pb::Job> out;
  out.reserve(job_ids.size());
  for (const auto& id : job_ids)
    out.push_back(ended.at(id));
  return out;
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
