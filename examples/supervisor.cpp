// A supervisor: keeps N copies of a service running across slave deaths. Each copy is a job that
// fails rather than being rescheduled when its node is lost, so the supervisor decides what
// replaces it (here: another copy, anywhere). Runs for SECONDS, then kills its copies and exits.
//
//   supervisor 127.0.0.1:7400 4 60 'sleep 1000'

#include <map>
#include <random>

#include <fmt/format.h>

#include "script_main.hpp"

using namespace claud;

namespace {

using stop_atom = caf::atom_constant<caf::atom("stop")>;

struct supervisor_state {
  std::string prefix;
  std::string command;
  std::map<int, std::string> copy_job; // copy number -> its current job ("" while submitting)
  bool started = false;
  bool stopping = false;
};

void start_copy(caf::event_based_actor* self, const caf::actor& cluster,
                const std::shared_ptr<supervisor_state>& st, int copy) {
  auto spec = example::shell_job(fmt::format("{}{}", st->prefix, copy), st->command);
  spec.set_fail_on_node_lost(true); // this supervisor, not the cluster, replaces a lost copy
  st->copy_job[copy] = "";
  self->request(cluster, std::chrono::seconds{30}, submit_atom::value, spec)
      .then([=](const pb::Job& job) { st->copy_job[copy] = job.id(); },
            [=](caf::error& err) {
              example::give_up(
                  self, fmt::format("copy {} was not started: {}", copy, error_message(err)));
            });
}

} // namespace

int main(int argc, char** argv) {
  return example::run(
      argc, argv, 3, "COPIES SECONDS 'COMMAND'",
      [](caf::event_based_actor* self, caf::actor cluster, std::vector<std::string> args) {
        auto st = std::make_shared<supervisor_state>();
        const int copies = std::stoi(args[0]);
        st->prefix = fmt::format("svc-{:08x}-", std::random_device{}());
        st->command = args[2];
        pb::EventFilter filter;
        filter.set_name_prefix(st->prefix);
        example::subscribe(self, cluster, filter);
        self->delayed_send(self, std::chrono::seconds{std::stoi(args[1])}, stop_atom::value);
        return caf::behavior{
            [=](events_atom, const pb::EventBatch& batch) {
              if (example::stream_ended(self, batch))
                return;
              if (batch.snapshot_done() && !st->started) {
                st->started = true;
                for (int copy = 0; copy < copies; ++copy)
                  start_copy(self, cluster, st, copy);
              }
              for (const auto& event : batch.events()) {
                if (event.kind() == pb::EVENT_JOB_STARTED)
                  std::cout << fmt::format("job {} running on {}\n", event.job_id(),
                                           event.node_id())
                            << std::flush;
                if (event.kind() != pb::EVENT_JOB_ENDED || st->stopping)
                  continue;
                for (const auto& [copy, job] : st->copy_job)
                  if (job == event.job_id()) {
                    std::cout << fmt::format("copy {} (job {}) {}: {}; replacing it\n", copy, job,
                                             event.state() == pb::JOB_LOST ? "was lost" : "ended",
                                             event.reason())
                              << std::flush;
                    start_copy(self, cluster, st, copy);
                    break;
                  }
              }
            },
            [=](stop_atom) {
              st->stopping = true;
              std::cout << "supervisor stopping\n";
              example::exit_code = 0;
              auto pending = std::make_shared<int>(0);
              auto one_done = [=] {
                if (--*pending == 0)
                  self->quit();
              };
              for (const auto& [copy, job] : st->copy_job)
                if (!job.empty()) {
                  ++*pending;
                  self->request(cluster, std::chrono::seconds{10}, kill_atom::value, job)
                      .then([=](const pb::Job&) { one_done(); }, [=](caf::error&) { one_done(); });
                }
              if (*pending == 0)
                self->quit();
            },
        };
      });
}
