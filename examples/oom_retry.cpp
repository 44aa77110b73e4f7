// A reactive retry: a job that ends failed for going over its memory limit is submitted again
// with twice the memory, up to a ceiling; any other end is final. Needs slaves that enforce
// memory limits (`claud nodes` says which do).
//
//   oom_retry 127.0.0.1:7400 "perl -e '\$x = \"a\" x (100 * 1024 * 1024)'" 32M 512M

#include <random>

#include <fmt/format.h>

#include "script_main.hpp"

using namespace claud;

namespace {

/// "32M" or "1G" in bytes (the example's own small parser: K, M and G only).
int64_t bytes_of(const std::string& text) {
  const int64_t number = std::stoll(text);
  switch (text.back()) {
  case 'K':
    return number << 10;
  case 'M':
    return number << 20;
  case 'G':
    return number << 30;
  default:
    return number;
  }
}

struct retry_state {
  std::string name;
  std::string command;
  int64_t memory = 0;
  int64_t ceiling = 0;
  std::string job; // the current attempt's job
  bool submitted = false;
};

void submit(caf::event_based_actor* self, const caf::actor& cluster,
            const std::shared_ptr<retry_state>& st) {
  std::cout << fmt::format("submitting with {} MiB\n", st->memory >> 20) << std::flush;
  self->request(cluster, std::chrono::seconds{30}, submit_atom::value,
                example::shell_job(st->name, st->command, st->memory))
      .then(
          [=](const pb::Job& job) { st->job = job.id(); },
          [=](caf::error& err) { example::give_up(self, "not submitted: " + error_message(err)); });
}

} // namespace

int main(int argc, char** argv) {
  return example::run(
      argc, argv, 3, "'COMMAND' MEMORY CEILING",
      [](caf::event_based_actor* self, caf::actor cluster, std::vector<std::string> args) {
        auto st = std::make_shared<retry_state>();
        st->name = fmt::format("oom-{:08x}", std::random_device{}());
        st->command = args[0];
        st->memory = bytes_of(args[1]);
        st->ceiling = bytes_of(args[2]);
        pb::EventFilter filter;
        filter.set_name_prefix(st->name);
        example::subscribe(self, cluster, filter);
        return caf::behavior{
            [=](events_atom, const pb::EventBatch& batch) {
              if (example::stream_ended(self, batch))
                return;
              if (batch.snapshot_done() && !st->submitted) {
                st->submitted = true;
                submit(self, cluster, st);
              }
              for (const auto& event : batch.events()) {
                if (event.kind() != pb::EVENT_JOB_ENDED || event.job_id() != st->job)
                  continue;
                const bool out_of_memory
                    = event.reason().find("over its memory limit") != std::string::npos;
                if (out_of_memory && st->memory * 2 <= st->ceiling) {
                  std::cout << fmt::format("job {} ran out of its {} MiB\n", event.job_id(),
                                           st->memory >> 20);
                  st->memory *= 2;
                  submit(self, cluster, st);
                  continue;
                }
                const bool succeeded = event.state() == pb::JOB_SUCCEEDED;
                std::cout << fmt::format("job {} {} with {} MiB{}\n", event.job_id(),
                                         succeeded ? "succeeded" : "failed", st->memory >> 20,
                                         event.reason().empty() ? "" : ": " + event.reason());
                example::exit_code = succeeded ? 0 : 1;
                self->quit();
              }
            },
        };
      });
}
