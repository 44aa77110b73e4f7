// 32 clients submitting at once to a dev node: every submission is answered, and the cluster holds
// exactly the jobs that were acknowledged. Before the middleman decoded on its own thread, about
// one submission in 1,000 went unanswered under 8 or more concurrent clients (CAF 0.17 forgot a
// closed connection only after a new client had been accepted on its reused socket number).

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("32 concurrent submitting clients all get an answer") {
  constexpr int clients = 32;
  constexpr int submissions_each = 50;
  cluster c;
  c.start_dev("dev", {"--cgroups", "off"});
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::vector<std::string> failures;
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&] {
        for (int n = 0; n < submissions_each; ++n) {
          auto r = c.run({"submit", "--", "true"}, 30s);
          std::lock_guard<std::mutex> lock{mutex};
          if (r.exit_code == 0)
            acknowledged.insert(r.out.substr(0, r.out.find('\n')));
          else
            failures.push_back(r.describe());
        }
      });
    for (auto& t : threads)
      t.join();
  }
  INFO((failures.empty() ? std::string{} : failures.front()));
  CHECK(failures.empty());
  CHECK(acknowledged.size() == static_cast<size_t>(clients * submissions_each) - failures.size());
  CHECK(c.jobs().items().size() == acknowledged.size());
}

TEST_CASE("a submission sent again with its idempotency key is the same job, not a second") {
  cluster c;
  // Ended jobs leave after 3 s, and their keys 3 s later: room for each step below.
  c.start_dev("dev", {"--cgroups", "off", "--job-retention-ms", "3000"});
  auto first = c.submit({"true"}, {"--idempotency-key", "nightly-2026-12-01"});
  auto again = c.submit({"true"}, {"--idempotency-key", "nightly-2026-12-01"});
  CHECK(again == first);
  CHECK(c.job(first)["idempotency_key"].str() == "nightly-2026-12-01");
  auto other = c.submit({"true"});
  CHECK(other != first);
  CHECK(c.job(other)["idempotency_key"].str().rfind("c-", 0) == 0); // made by the client
  CHECK(c.jobs().items().size() == 2);

  // Once the job has left the state, the key still refuses a late retry, with the job's id.
  c.wait_job(first);
  c.wait_until(
      "the job leaves the state",
      [&] {
        for (const auto& job : c.jobs().items())
          if (job["id"].str() == first)
            return false;
        return true;
      },
      20s);
  auto late = c.run({"submit", "--idempotency-key", "nightly-2026-12-01", "--", "true"});
  CHECK(late.exit_code == 1);
  CHECK(late.err
        == "claud: error: this submission (idempotency key nightly-2026-12-01) was "
           "accepted as job "
               + first + ", which has ended and left the state\n");

  auto bad = c.run({"submit", "--idempotency-key", "has space", "--", "true"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("--idempotency-key: an idempotency key is at most 128 characters")
        != std::string::npos);
}
