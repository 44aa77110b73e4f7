// A two-stage pipeline: each first-stage job's result decides the second-stage job submitted for
// it, the moment that result commits. Stage one "measures" item i (its exit code is the result:
// i % 3); stage two publishes items measured 0 and retries the measurement of the others once.
//
//   pipeline 127.0.0.1:7400 9

#include <map>
#include <random>

#include <fmt/format.h>

#include "script_main.hpp"

using namespace claud;

namespace {

struct pipeline_state {
  std::string prefix;
  int items = 0;
  std::map<std::string, std::string> stage_of; // job name -> "measure i", "publish i", ...
  int finished = 0;                            // items whose second stage has ended
  bool submitted = false;
};

void submit(caf::event_based_actor* self, const caf::actor& cluster,
            const std::shared_ptr<pipeline_state>& st, const std::string& step, int item,
            const std::string& command) {
  auto name = fmt::format("{}{}-{}", st->prefix, step, item);
  st->stage_of[name] = fmt::format("{} {}", step, item);
  self->request(cluster, std::chrono::seconds{30}, submit_atom::value,
                example::shell_job(name, command))
      .then([](const pb::Job&) {},
            [=](caf::error& err) {
              example::give_up(
                  self, fmt::format("{} {} was not submitted: {}", step, item, error_message(err)));
            });
}

/// Reacts to one job's end: a measurement starts its item's second stage, which ends the item.
void on_end(caf::event_based_actor* self, const caf::actor& cluster,
            const std::shared_ptr<pipeline_state>& st, const pb::Event& end) {
  auto name = end.job_name();
  auto step = st->stage_of.find(name);
  if (step == st->stage_of.end())
    return;
  const int item = std::stoi(name.substr(name.rfind('-') + 1));
  if (step->second.rfind("measure", 0) == 0) {
    const int result = end.has_exit_code() ? end.exit_code() : -1;
    std::cout << fmt::format("item {} measured {}\n", item, result);
    if (result == 0)
      submit(self, cluster, st, "publish", item, fmt::format("echo published {}", item));
    else
      submit(self, cluster, st, "remeasure", item, "exit 0");
    return;
  }
  std::cout << fmt::format("item {}: {} {}\n", item, step->second.substr(0, step->second.find(' ')),
                           end.state() == pb::JOB_SUCCEEDED ? "succeeded" : "did not succeed");
  if (++st->finished == st->items) {
    std::cout << fmt::format("pipeline done: {} items\n", st->items);
    example::exit_code = 0;
    self->quit();
  }
}

} // namespace

int main(int argc, char** argv) {
  return example::run(
      argc, argv, 1, "ITEMS",
      [](caf::event_based_actor* self, caf::actor cluster, std::vector<std::string> args) {
        auto st = std::make_shared<pipeline_state>();
        st->items = std::stoi(args[0]);
        st->prefix = fmt::format("pipe-{:08x}-", std::random_device{}());
        pb::EventFilter filter;
        filter.set_name_prefix(st->prefix);
        example::subscribe(self, cluster, filter);
        return caf::behavior{
            [=](events_atom, const pb::EventBatch& batch) {
              if (example::stream_ended(self, batch))
                return;
              if (batch.snapshot_done() && !st->submitted) {
                st->submitted = true;
                for (int i = 0; i < st->items; ++i)
                  submit(self, cluster, st, "measure", i, fmt::format("exit {}", i % 3));
              }
              for (const auto& event : batch.events())
                if (event.kind() == pb::EVENT_JOB_ENDED)
                  on_end(self, cluster, st, event);
            },
        };
      });
}
