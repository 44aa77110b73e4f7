// A program that drives a claud cluster through the client library: it submits one job per
// argument, waits for all of them and prints how each ended. Build: part of `make build`
// (build/examples/submit_and_wait). Run: submit_and_wait 127.0.0.1:7400 'echo one' 'exit 2'
//
// Programs that want to stay asynchronous can instead message the cluster's `api` actor directly
// with the messages listed in include/claud/protocol.hpp.

#include <iostream>
#include <string>
#include <vector>

#include "claud/client.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: submit_and_wait HOST:PORT 'shell command' ...\n";
    return 2;
  }
  try {
    claud::client_options options;
    options.addresses = {argv[1]};
    claud::client cluster{options};
    std::vector<std::string> ids; // all submitted first, so the jobs run side by side
    for (int i = 2; i < argc; ++i) {
      claud::pb::JobSpec spec;
      spec.set_name("example-" + std::to_string(i - 1));
      spec.add_argv("sh");
      spec.add_argv("-c");
      spec.add_argv(argv[i]);
      spec.set_cpu_millis(100);
      spec.set_memory_bytes(64 << 20);
      ids.push_back(cluster.submit(spec).id());
    }
    int failures = 0;
    int i = 2;
    for (const auto& job : cluster.wait_all(ids)) { // one request, answered when all have ended
      std::cout << "job " << job.id() << " (" << argv[i++] << "): exit code "
                << (job.has_exit_code() ? std::to_string(job.exit_code()) : "none") << "\n";
      failures += job.state() != claud::pb::JOB_SUCCEEDED;
    }
    return failures == 0 ? 0 : 1;
  } catch (const claud::client_error& e) {
    std::cerr << "submit_and_wait: " << e.what() << "\n";
    return 1;
  }
}
