#include "claud/client.hpp"

#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "claud/protocol.hpp"
#include "net/address.hpp"

namespace claud {

namespace {

caf::actor_system_config& configure(caf::actor_system_config& cfg) {
  register_protocol(cfg);
  cfg.load<caf::io::middleman>();
  // A client is short-lived and mostly waits: a few workers are plenty.
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
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
    : options(std::move(opts)), system(configure(cfg)), self(system) {
  }

  void connect() {
    std::vector<std::string> failures;
    for (const auto& text : options.addresses) {
      net::host_port where;
      try {
        where = net::parse_host_port(text);
      } catch (const std::invalid_argument& e) {
        throw client_error(e.what());
      }
      auto handle = system.middleman().remote_actor(where.host, where.port);
      if (handle) {
        api = *handle;
        address = text;
        return;
      }
      failures.push_back(fmt::format("{} ({})", text, error_message(handle.error())));
    }
    throw client_error(
      fmt::format("cannot reach the cluster at {}; start one with `claud --role=dev`, or point "
                  "--cluster or CLAUD_ADDR at a running master",
                  fmt::join(failures, ", ")),
      true);
  }

  template <class Result, class... Ts>
  Result request(std::chrono::milliseconds timeout, Ts&&... xs) {
    std::optional<Result> result;
    caf::error failure;
    self->request(api, timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& value) { result = std::move(value); },
               [&](caf::error& err) { failure = std::move(err); });
    if (!result) {
      bool unreachable = failure == caf::sec::request_receiver_down;
      throw client_error(error_message(failure), unreachable);
    }
    return std::move(*result);
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
  return impl_->request<pb::Job>(impl_->options.request_timeout, submit_atom::value, spec);
}

pb::Job client::status(const std::string& job_id) {
  return impl_->request<pb::Job>(impl_->options.request_timeout, status_atom::value, job_id);
}

pb::Job client::wait(const std::string& job_id) {
  // The master answers a wait after at most its poll period, so each round has a short bound and
  // a master that dies mid-wait is noticed; a job that has not ended yet is simply asked again.
  for (;;) {
    auto job = impl_->request<pb::Job>(impl_->options.request_timeout * 4, wait_atom::value,
                                       job_id);
    switch (job.state()) {
      case pb::JOB_SUCCEEDED:
      case pb::JOB_FAILED:
      case pb::JOB_KILLED:
      case pb::JOB_LOST:
        return job;
      default:
        break;
    }
  }
}

std::vector<pb::Job> client::jobs() {
  auto list = impl_->request<pb::JobList>(impl_->options.request_timeout, jobs_atom::value);
  return {list.jobs().begin(), list.jobs().end()};
}

std::vector<pb::Node> client::nodes() {
  auto list = impl_->request<pb::NodeList>(impl_->options.request_timeout, nodes_atom::value);
  return {list.nodes().begin(), list.nodes().end()};
}

pb::Job client::kill(const std::string& job_id) {
  return impl_->request<pb::Job>(impl_->options.request_timeout, kill_atom::value, job_id);
}

pb::LogChunk client::logs(const pb::LogRequest& request) {
  return impl_->request<pb::LogChunk>(impl_->options.request_timeout, logs_atom::value, request);
}

pb::LeaderInfo client::leader() {
  return impl_->request<pb::LeaderInfo>(impl_->options.request_timeout, leader_atom::value);
}

} // namespace claud
