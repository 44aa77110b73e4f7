#include "cli/tls_commands.hpp"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "net/certificates.hpp"
#include "net/cluster_secret.hpp"

namespace claud::cli {

namespace {

struct tls_values {
  std::string dir = ".";
  std::string cluster_name = "claud";
  std::string role;
  std::string name;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> dns_names;
  int days = 365;
};

template<class F>
int guarded(F&& run) {
  try {
    run();
    return 0;
  } catch (const net::certificate_error& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  } catch (const net::secret_error& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  } catch (const std::invalid_argument& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  }
  return 1;
}

std::chrono::hours lifetime(int days) {
  if (days < 1 || days > 3650)
    throw std::invalid_argument(fmt::format("--days must be 1 to 3650 (got {})", days));
  return std::chrono::hours{24 * days};
}

} // namespace

void add_tls_commands(CLI::App& app, int& exit_code) {
  auto values = std::make_shared<tls_values>();
  auto* tls = app.add_subcommand(
      "tls", "Make the cluster's CA, its certificates and the secret its beacons are signed with");
  tls->require_subcommand(1);

  auto* ca = tls->add_subcommand("ca", "Make the cluster CA: DIR/ca.pem and DIR/ca-key.pem");
  ca->add_option("--dir", values->dir, "Where to write them")->capture_default_str();
  ca->add_option("--cluster-name", values->cluster_name, "The CA's name")->capture_default_str();
  ca->add_option("--days", values->days, "How long it is valid")->capture_default_str();
  ca->callback([values, &exit_code] {
    exit_code = guarded([&] {
      net::make_certificate_authority(values->dir, values->cluster_name, lifetime(values->days));
      std::cout << fmt::format("made {0}/ca.pem and {0}/ca-key.pem; keep ca-key.pem secret and "
                               "give ca.pem to every node and user\n",
                               values->dir);
    });
  });

  auto* cert = tls->add_subcommand(
      "cert", "Issue DIR/NAME.pem and DIR/NAME-key.pem, signed by DIR/ca.pem and DIR/ca-key.pem");
  cert->add_option("--role", values->role,
                   "master, slave, client (every command) or reader (status, jobs, nodes, logs, "
                   "leader, wait)")
      ->required();
  cert->add_option("--name", values->name, "Node id or user name (the certificate's CN)")
      ->required();
  cert->add_option("--ip", values->ip_addresses, "An IP address of the node (repeatable)")
      ->allow_extra_args(false);
  cert->add_option("--dns", values->dns_names, "A DNS name of the node (repeatable)")
      ->allow_extra_args(false);
  cert->add_option("--dir", values->dir, "Where the CA is and the files go")->capture_default_str();
  cert->add_option("--days", values->days, "How long it is valid")->capture_default_str();
  cert->callback([values, &exit_code] {
    exit_code = guarded([&] {
      net::certificate_request request;
      request.role = net::parse_peer_role(values->role);
      request.name = values->name;
      request.ip_addresses = values->ip_addresses;
      request.dns_names = values->dns_names;
      request.lifetime = lifetime(values->days);
      auto path = net::issue_certificate(values->dir, request);
      std::cout << fmt::format("made {} and {}/{}-key.pem ({} \"{}\")\n", path, values->dir,
                               values->name, values->role, values->name);
    });
  });

  auto* secret = tls->add_subcommand(
      "secret", "Make DIR/cluster.secret, the secret that signs discovery beacons (--secret-file)");
  secret->add_option("--dir", values->dir, "Where to write it")->capture_default_str();
  secret->callback([values, &exit_code] {
    exit_code = guarded([&] {
      auto path = values->dir + "/cluster.secret";
      net::make_cluster_secret(path);
      std::cout << fmt::format("made {}; copy it to every node (mode 0600) and give it as "
                               "--secret-file\n",
                               path);
    });
  });
}

} // namespace claud::cli
