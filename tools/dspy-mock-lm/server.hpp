// dspy-mock-lm: server options and entry point (the Beast/Asio machinery stays inside server.cpp).
#pragma once

#include "responder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mocklm {

/// Everything the command line configures; rates are probabilities in [0, 1], drawn per request from `seed`.
struct Options {
  uint16_t port = 0;
  int threads = 1;
  double exit_after_s = 0;
  std::vector<Rule> rules;

  int chunk_chars = 4;
  bool chunk_split_utf8 = false;
  int chunk_delay_ms = 0;

  int latency_ms = 0;
  double fail_429 = 0;
  int retry_after_s = 1;
  double fail_5xx = 0;
  int fail_first = 0;
  int fail_status = 500;
  int stall_ms = 0;
  double stall_rate = 1.0;
  double drop = 0;
  double malformed = 0;
  double finish_length = 0;
  bool context_window_error = false;
  size_t context_window_chars = 0;
  std::string api_key;
  uint64_t seed = 0;

  std::string tls_cert;
  std::string tls_key;
};

/// Serves until SIGINT/SIGTERM or `exit_after_s`; returns the process exit code.
int run_server(const Options& options);

}  // namespace mocklm
