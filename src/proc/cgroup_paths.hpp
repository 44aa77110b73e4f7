#pragma once
// Where this process's cgroups are in the file system, worked out from the text of
// /proc/self/cgroup and /proc/self/mountinfo. Pure: the caller reads the two files, so the rules
// are tested against the layouts of real hosts (cgroup v2 only, v1 only, hybrid, containers).

#include <map>
#include <string>

namespace claud::proc {

struct cgroup_dirs {
  // The directory of this process's cgroup in the unified (v2) hierarchy; empty when none is
  // mounted or this process's cgroup lies outside what is mounted (a container seeing only part).
  std::string v2;
  // Per cgroup v1 controller ("memory", "cpu", ...): the directory of this process's cgroup in
  // the hierarchy carrying that controller, when that hierarchy is mounted.
  std::map<std::string, std::string> v1;
};

/// `proc_self_cgroup` lines are "ID:CONTROLLERS:PATH" ("0::PATH" for v2); `mountinfo` lines are
/// "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS", where
/// a v1 hierarchy's controllers are among its SUPER_OPTIONS. Malformed lines are skipped.
cgroup_dirs find_cgroup_dirs(const std::string& proc_self_cgroup, const std::string& mountinfo);

} // namespace claud::proc
