// Fan-out/fan-in: submits N jobs at once, reacts to each one's end as it commits, and prints a
// summary when the last has ended. Nothing polls: the ends arrive as event messages.
//
//   fan_out 127.0.0.1:7400 100
//
// Every tenth job fails (exit 1), so the summary has something to say.

#include <chrono>
#include <map>
#include <random>

#include <fmt/format.h>

#include "script_main.hpp"

using namespace claud;

int main(int argc, char** argv) {
  return example::run(
      argc, argv, 1, "JOBS",
      [](caf::event_based_actor* self, caf::actor cluster, std::vector<std::string> args) {
        const int jobs = std::stoi(args[0]);
        // Jobs of this run share a name prefix; the subscription selects them by it, and is in
        // place (its snapshot arrived) before the first job is submitted, so no end can be missed.
        const auto prefix = fmt::format("fan-{:08x}-", std::random_device{}());
        const auto start = std::chrono::steady_clock::now();
        auto ended = std::make_shared<std::map<std::string, pb::Event>>();
        auto submitted = std::make_shared<bool>(false);
        pb::EventFilter filter;
        filter.set_name_prefix(prefix);
        example::subscribe(self, cluster, filter);
        return caf::behavior{
            [=](events_atom, const pb::EventBatch& batch) {
              if (example::stream_ended(self, batch))
                return;
              if (batch.snapshot_done() && !*submitted) { // fan out
                *submitted = true;
                for (int i = 0; i < jobs; ++i)
                  self->request(cluster, std::chrono::seconds{30}, submit_atom::value,
                                example::shell_job(prefix + std::to_string(i),
                                                   i % 10 == 9 ? "exit 1" : "exit 0"))
                      .then([](const pb::Job&) {},
                            [=](caf::error& err) {
                              example::give_up(self, "a submission failed: " + error_message(err));
                            });
              }
              for (const auto& event : batch.events()) // fan in
                if (event.kind() == pb::EVENT_JOB_ENDED)
                  (*ended)[event.job_id()] = event;
              if (static_cast<int>(ended->size()) < jobs)
                return;
              int succeeded = 0;
              for (const auto& [id, end] : *ended)
                succeeded += end.state() == pb::JOB_SUCCEEDED;
              const auto seconds
                  = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
              std::cout << fmt::format("{} jobs ended in {:.2f} s: {} succeeded, {} failed\n", jobs,
                                       seconds, succeeded, jobs - succeeded);
              example::exit_code = 0;
              self->quit();
            },
        };
      });
}
