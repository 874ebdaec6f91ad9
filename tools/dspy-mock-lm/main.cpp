// dspy-mock-lm: a local OpenAI/Anthropic-compatible test server that answers DSPy prompts in the format they ask
// for. See README.md beside this file.
#include "server.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  mocklm::Options o;
  std::string rules_file;
  CLI::App app{"dspy-mock-lm: deterministic OpenAI-compatible test server for DSPy prompts (binds 127.0.0.1 only)"};
  app.add_option("--port", o.port, "TCP port; 0 picks a free one (printed as `listening on 127.0.0.1:PORT`)");
  app.add_option("--threads", o.threads, "I/O threads")->check(CLI::Range(1, 64));
  app.add_option("--exit-after-s", o.exit_after_s, "stop by itself after this many seconds (0 = never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--rules", rules_file, "JSON file: [{\"match\": substring, \"fields\": {...} | \"content\": str}]");
  app.add_option("--chunk-chars", o.chunk_chars, "characters per streamed chunk")->check(CLI::Range(1, 1 << 20));
  app.add_flag("--chunk-split-utf8", o.chunk_split_utf8,
               "count --chunk-chars in bytes, so chunks may cut UTF-8 sequences (the deltas are then not valid UTF-8)");
  app.add_option("--chunk-delay-ms", o.chunk_delay_ms, "pause between streamed chunks")->check(CLI::Range(0, 600000));
  app.add_option("--latency-ms", o.latency_ms, "delay before every answer")->check(CLI::Range(0, 3600000));
  app.add_option("--fail-429", o.fail_429, "rate of 429 answers")->check(CLI::Range(0.0, 1.0));
  app.add_option("--retry-after", o.retry_after_s, "Retry-After seconds on 429")->check(CLI::Range(0, 86400));
  app.add_option("--fail-5xx", o.fail_5xx, "rate of 500/502/503 answers")->check(CLI::Range(0.0, 1.0));
  app.add_option("--fail-first", o.fail_first, "the first N LM requests fail with --fail-status")
      ->check(CLI::Range(0, 1 << 30));
  app.add_option("--fail-status", o.fail_status, "status for --fail-first")->check(CLI::Range(400, 599));
  app.add_option("--stall-ms", o.stall_ms, "send nothing for this long after reading a request, then answer")
      ->check(CLI::Range(0, 3600000));
  app.add_option("--stall-rate", o.stall_rate, "rate of stalled requests when --stall-ms is set")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--drop", o.drop, "rate of connections closed without an answer")->check(CLI::Range(0.0, 1.0));
  app.add_option("--malformed", o.malformed, "rate of 200 answers whose body is not JSON")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--finish-length", o.finish_length,
                 "rate of answers cut in half with finish_reason \"length\" (max_tokens always cuts too)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--context-window-error", o.context_window_error, "answer 400 context_length_exceeded");
  app.add_option("--context-window-chars", o.context_window_chars,
                 "answer 400 context_length_exceeded when the prompt is longer than this (0 = off)");
  app.add_option("--require-api-key", o.api_key, "401 unless `Authorization: Bearer KEY` (or x-api-key: KEY)");
  app.add_option("--seed", o.seed, "seed for the rate-based faults");
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate chain: serve HTTPS")->check(CLI::ExistingFile);
  app.add_option("--tls-key", o.tls_key, "PEM private key for --tls-cert")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    std::fprintf(stderr, "dspy-mock-lm: --tls-cert and --tls-key go together\n");
    return 2;
  }
  try {
    if (!rules_file.empty()) o.rules = mocklm::load_rules(rules_file);
    return mocklm::run_server(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dspy-mock-lm: %s\n", e.what());
    return 1;
  }
}
