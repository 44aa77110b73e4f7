#include "proc/cgroup_paths.hpp"

#include <catch2/catch.hpp>

using claud::proc::find_cgroup_dirs;

namespace {

// The mount lines of a host that mounts only cgroup v2 (systemd's default since 2021).
const char* v2_mounts = "23 30 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 "
                        "rw,nsdelegate,memory_recursiveprot\n"
                        "30 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";

// A "hybrid" host: controllers on v1 hierarchies, an empty v2 hierarchy beside them.
const char* hybrid_mounts = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,"
                            "cpuacct\n"
                            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
                            "rw,memory\n"
                            "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
                            "rw,xattr,name=systemd\n"
                            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 "
                            "rw\n";

const char* hybrid_cgroup = "9:name=systemd:/user.slice\n"
                            "4:memory:/process_api/a63773\n"
                            "2:cpu,cpuacct:/\n"
                            "0::/user.slice\n";

} // namespace

TEST_CASE("cgroup v2: the process's cgroup below the mount point") {
  auto dirs = find_cgroup_dirs("0::/system.slice/claud.service\n", v2_mounts);
  CHECK(dirs.v2 == "/sys/fs/cgroup/system.slice/claud.service");
  CHECK(dirs.v1.empty());
}

TEST_CASE("cgroup v2: a process in the root cgroup (or a container's namespace root)") {
  auto dirs = find_cgroup_dirs("0::/\n", v2_mounts);
  CHECK(dirs.v2 == "/sys/fs/cgroup");
}

TEST_CASE("hybrid: v1 controllers, also when mounted together, and the unified hierarchy") {
  auto dirs = find_cgroup_dirs(hybrid_cgroup, hybrid_mounts);
  CHECK(dirs.v2 == "/sys/fs/cgroup/unified/user.slice");
  CHECK(dirs.v1.at("memory") == "/sys/fs/cgroup/memory/process_api/a63773");
  CHECK(dirs.v1.at("cpu") == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(dirs.v1.at("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(dirs.v1.at("name=systemd") == "/sys/fs/cgroup/systemd/user.slice");
}

TEST_CASE("a container mounting only its own part of the hierarchy") {
  const char* mounts = "700 690 0:30 /docker/4f1e /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
  SECTION("its cgroup is the mount's root") {
    CHECK(find_cgroup_dirs("0::/docker/4f1e\n", mounts).v2 == "/sys/fs/cgroup");
  }
  SECTION("below the mount's root") {
    CHECK(find_cgroup_dirs("0::/docker/4f1e/init\n", mounts).v2 == "/sys/fs/cgroup/init");
  }
  SECTION("a cgroup outside what is mounted, or one only sharing a prefix, has no directory") {
    CHECK(find_cgroup_dirs("0::/docker/other\n", mounts).v2.empty());
    CHECK(find_cgroup_dirs("0::/docker/4f1e2\n", mounts).v2.empty());
  }
}

TEST_CASE("escaped characters in mount points are decoded") {
  const char* mounts = "41 31 0:38 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n";
  CHECK(find_cgroup_dirs("0::/a\n", mounts).v2 == "/mnt/cg two/a");
}

TEST_CASE("nothing mounted, or malformed lines, find nothing and do not throw") {
  CHECK(find_cgroup_dirs("0::/a\n", "").v2.empty());
  CHECK(find_cgroup_dirs("garbage\n4:memory\n::\n", hybrid_mounts).v1.empty());
  auto dirs = find_cgroup_dirs("0::/a\n", "41 31 0:38 / /x rw - cgroup2\nshort line\n");
  CHECK(dirs.v2.empty());
}
