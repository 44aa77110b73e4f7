# Every dependency comes from a Debian package (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Catch2 2 REQUIRED)
# Mutual TLS between nodes and clients, and `claud tls` (libssl-dev).
find_package(OpenSSL REQUIRED)
include(Catch)
# Line editing and history in `claud repl` (libedit-dev: BSD-licensed, unlike GNU readline).
find_package(PkgConfig REQUIRED)
pkg_check_modules(libedit REQUIRED IMPORTED_TARGET libedit)

# Debian ships CAF 0.17.6 without a CMake package or pkg-config file: wrap it by hand.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
                      INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(caf::io UNKNOWN IMPORTED)
set_target_properties(caf::io PROPERTIES IMPORTED_LOCATION ${CAF_IO_LIBRARY}
                      INTERFACE_LINK_LIBRARIES caf::core)

# Asio is header-only; CAF does not own the UDP discovery sockets.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
