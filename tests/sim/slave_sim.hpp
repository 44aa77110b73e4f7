#pragma once
// A simulated slave: the job_supervisor's core (slave::attempt_book) over fake processes that end
// after drawn durations, with drawn exit codes and signals, some ignoring SIGTERM, some failing to
// spawn; the started-attempts journal that survives a restart; and the slave_link's behaviour
// (register with the leader it heard of, or each master in turn; ping; move to a newer leader;
// send reports in batches and again after a registration).
//
// Faults: crash (the slave's process dies: its book, timers and connection are gone, and its job
// processes live on as orphans nobody supervises, as they do when a real slave is SIGKILLed);
// restart (a fresh process with the same id, incarnation and journal); freeze and thaw (nothing is
// read, sent or reaped meanwhile; the job processes run on).

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lifecycle_messages.hpp"
#include "master_host.hpp"
#include "prng.hpp"
#include "slave/attempt_book.hpp"

namespace claud::sim {

/// One fake job process.
struct fake_process {
  std::string slave;
  std::string job_id;
  uint32_t attempt = 0;
  uint64_t started = 0;
  uint64_t ends_at = 0; // when it exits (or is killed)
  bool exited = true;   // else killed by `signal`
  int code = 0;
  int signal = 0;
  bool ignores_term = false;
  bool signalled = false; // SIGTERM or SIGKILL sent: it is being stopped
  bool supervised = true; // false once its slave's process died: an orphan
  bool alive = true;
  uint64_t streams_close_at = 0; // its pipes close (a child it left may hold them long)
};

/// What the world learns from a slave, for the checks.
struct slave_events {
  std::function<void(const std::string& slave, const pb::Job& job)> spawned;
  std::function<void(const std::string& slave, const std::string& reason)> refused;
  std::function<void(const std::string& what)> note; // the link's moves, for the trace
};

class slave_sim {
public:
  using send_fn = std::function<void(const std::string& to, message m)>;

  slave_sim(std::string id, uint64_t incarnation, int64_t cpu_millis, int64_t memory_bytes,
            std::vector<std::string> masters, uint64_t seed, const lifecycle_timing& timing);

  const std::string& id() const {
    return id_;
  }
  bool up() const {
    return up_;
  }
  bool frozen() const {
    return frozen_;
  }
  /// Whether a leader accepted its registration (as far as it knows).
  bool registered() const {
    return !registered_with_.empty();
  }
  /// The name of this process's connection (its supervisor, as masters address it).
  std::string connection() const;

  void deliver(const std::string& from, const message& m, uint64_t now, const send_fn& send,
               const slave_events& events);
  void tick(uint64_t now, const send_fn& send, const slave_events& events);

  void crash(uint64_t now);
  void restart(uint64_t now);
  void freeze() {
    frozen_ = true;
  }
  void thaw() {
    frozen_ = false;
  }

  const std::map<int64_t, fake_process>& processes() const {
    return processes_;
  }
  /// Processes of this slave that are alive (supervised or not).
  size_t alive_processes() const;

private:
  enum class timer_kind { started_delay, output_wait, escalate };
  struct timer {
    uint64_t due;
    timer_kind kind;
    slave::attempt_key attempt;
  };

  pb::Node node() const;
  void start(const pb::Job& job, uint64_t now, const slave_events& events);
  void stop(const slave::attempt_key& attempt, uint64_t now);
  void reap(uint64_t now);
  void link(uint64_t now, const send_fn& send, const slave_events& events);
  void send_reports(uint64_t now, const send_fn& send);
  void drop_registration() {
    registered_with_.clear();
    registering_with_.clear();
    ping_deadline_ = 0;
  }

  std::string id_;
  uint64_t incarnation_;
  int64_t cpu_millis_;
  int64_t memory_bytes_;
  std::vector<std::string> masters_;
  prng rng_;
  lifecycle_timing timing_;

  // The machine: outlives the slave's process.
  std::set<std::pair<std::string, uint32_t>> journal_; // started attempts not yet acknowledged
  std::map<int64_t, fake_process> processes_;          // by pid
  int64_t next_pid_ = 1;
  uint64_t generation_ = 1;
  bool up_ = true;
  bool frozen_ = false;

  // The process: lost with a crash.
  slave::attempt_book book_;
  std::map<uint64_t, int64_t> stream_owner_; // stream token -> pid
  std::vector<timer> timers_;
  std::string registered_with_;
  std::string registering_with_;
  uint64_t register_deadline_ = 0;
  std::string leader_hint_;
  std::string followed_; // the leader leader_is named last, until it is asked again once
  uint64_t leader_term_ = 0;
  size_t next_master_ = 0;
  uint64_t next_ping_ = 0;
  uint64_t ping_deadline_ = 0; // a ping is outstanding until then (0: none)
  uint64_t next_report_seq_ = 1;
  std::map<uint64_t, std::pair<uint64_t, pb::SlaveReport>> outstanding_; // seq -> (deadline, batch)
};

} // namespace claud::sim
