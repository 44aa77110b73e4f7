#pragma once
// One seeded run of the whole cluster (world.hpp): the seed draws the masters' fault parameters
// (as random_run does), the slaves' faults (crash, freeze, cut off, each ended after a drawn
// outage) and the clients' load (submit, kill, drain), then
//  1. a fault phase of `steps` steps, with every check after every step;
//  2. the masters healed and required to make progress (random_run's phases 2 and 3);
//  3. every slave restarted, thawed and reconnected, every node undrained, no new requests: the
//     cluster must settle (every job ended, every request answered) within a bound, and then pass
//     the end checks (lifecycle_checker::check_end) and the masters' state comparison.

#include <ostream>

#include "random_run.hpp"

namespace claud::sim {

run_result run_world_seed(const run_options& options, std::ostream& out);

} // namespace claud::sim
