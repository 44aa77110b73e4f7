#pragma once
// The user a slave's jobs run as. A slave started as root never runs them as root by accident:
// they run as `nobody` unless --run-as names another user (root included, on purpose); a job may
// ask for one of the users --allow-users names.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace claud::proc {

struct job_identity {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary groups, as initgroups would set them
  std::string home;
};

/// The identity jobs take, for a slave whose --run-as is `requested` ("" when not given): as
/// root, `requested` or else nobody; otherwise nullopt (jobs keep the slave's own user, which
/// `requested` may name). Throws std::invalid_argument with one line: an unknown user, or a user
/// other than its own asked of a slave that is not root.
std::optional<job_identity> resolve_job_identity(const std::string& requested);

/// The identities a job may ask for by name (`submit --user`) on a slave given --allow-users
/// `allowed`, by user name. Throws std::invalid_argument with one line: a user unknown on this
/// machine, or, on a slave that is not root, any user but its own (it could not switch to it).
std::map<std::string, job_identity> resolve_allowed_users(const std::vector<std::string>& allowed);

/// The name of the user this process runs as (its uid as text if it has no name).
std::string current_user_name();

} // namespace claud::proc
