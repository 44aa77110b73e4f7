#pragma once
// A blocking client of a claud cluster, for the CLI and for programs that drive claud. It owns a
// small CAF actor system and talks to the `api` actor of a master (see protocol.hpp for the
// messages, which actor scripts can also send directly to `api_handle()`).

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "claud/protocol.hpp"
#include "cluster.pb.h"
#include "wire.pb.h"

namespace claud {

/// One line a user can act on; `unreachable()` tells a cluster that could not be reached at all
/// from a request the cluster refused, and `maybe_applied()` a write that one of its tries may
/// have left in a leader's log (its outcome was unknown, or its master went away), so that a
/// later refusal ("no leader") does not mean it was not applied.
class client_error : public std::runtime_error {
public:
  client_error(std::string message, bool unreachable = false, bool maybe_applied = false)
      : std::runtime_error(std::move(message)), unreachable_(unreachable),
        maybe_applied_(maybe_applied) {}
  bool unreachable() const {
    return unreachable_;
  }
  bool maybe_applied() const {
    return maybe_applied_;
  }

private:
  bool unreachable_;
  bool maybe_applied_;
};

struct client_options {
  std::vector<std::string> addresses;               // HOST:PORT of masters, tried in order
  std::chrono::milliseconds connect_timeout{1000};  // reaching one master
  std::chrono::milliseconds attempt_timeout{3000};  // one try at one master
  std::chrono::milliseconds request_timeout{10000}; // all tries, through failovers
  // One round of a wait: a master answers a held wait within its --wait-poll-ms (at most
  // max_wait_poll). A round unanswered by then means the master died (its pending requests get no
  // error) or froze, and the wait is asked again, through another master if need be.
  std::chrono::milliseconds wait_round_timeout = max_wait_poll + std::chrono::milliseconds{1000};
  // Mutual TLS (see configure_tls): the cluster CA, this user's certificate and key; all empty
  // for a cluster without TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

/// Reads go through the leader by default and see every acknowledged write (linearizable);
/// `local` reads answer from the state of the master the client reached, at once, maybe behind.
enum class read_mode { linearizable, local };

class client {
public:
  /// Connects to the first master that answers; throws client_error naming every address tried.
  explicit client(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// The address this client is connected to.
  const std::string& address() const;

  pb::Job submit(const pb::JobSpec& spec);
  pb::Job status(const std::string& job_id, read_mode mode = read_mode::linearizable);
  /// Blocks until the job has ended and returns its final record.
  pb::Job wait(const std::string& job_id);
  /// Blocks until every job has ended and returns their final records, in the order given; a
  /// few requests however many jobs (each names up to max_jobs_per_wait).
  std::vector<pb::Job> wait_all(const std::vector<std::string>& job_ids);
  std::vector<pb::Job> jobs(read_mode mode = read_mode::linearizable);
  std::vector<pb::Node> nodes(read_mode mode = read_mode::linearizable);
  pb::Job kill(const std::string& job_id);
  /// Stops (or, with draining false, resumes) placements on a node; `migrate` also moves its jobs.
  pb::Node drain(const std::string& node_id, bool draining, bool migrate);
  pb::LogChunk logs(const pb::LogRequest& request);
  /// Adds a master (ADD_LEARNER, by HOST:PORT) or removes one (REMOVE, by HOST:PORT or node id);
  /// the masters once the change is committed.
  pb::LeaderInfo change_masters(const pb::MembershipChange& change);
  pb::LeaderInfo leader(read_mode mode = read_mode::linearizable);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claud
