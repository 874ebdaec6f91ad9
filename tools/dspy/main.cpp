// dspy: run, batch and serve a DSPy program described by a JSON file.
//
//   dspy run    PROGRAM --input question="Why is the sky blue?" [--json] [--inspect]
//   dspy batch  PROGRAM IN.jsonl -o OUT.jsonl [--concurrency 64] [--metric exact_match --label answer]
//   dspy serve  PROGRAM [--host 127.0.0.1] [--port 8000] [--token T] [--max-in-flight 64]
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "batch.hpp"
#include "dspy/clients/base_lm.hpp"
#include "dspy/settings/settings.hpp"
#include "metrics.hpp"
#include "program.hpp"
#include "serve.hpp"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};  // lock-free, so usable in a signal handler

// What the first interrupt says (set before the handlers are installed, read-only afterwards).
const char* g_stop_message = "";

void on_stop_signal(int) {
    if (g_signals.fetch_add(1) > 0) {
        static const char msg[] = "\ndspy: second interrupt, exiting now\n";
        (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(130);
    }
    (void)!::write(STDERR_FILENO, g_stop_message, std::strlen(g_stop_message));
    g_stop.store(true);
}

void install_stop_handlers(const char* message) {
    g_stop_message = message;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

struct Common {
    std::string program;
    std::string lm;
    std::string api_base;
    bool no_cache = false;

    void add(CLI::App* cmd) {
        cmd->add_option("program", program, "program file (JSON)")->required();
        cmd->add_option("--lm", lm, "model to use instead of the program's (also $DSPY_LM)");
        cmd->add_option("--api-base", api_base, "API base URL instead of the program's (also $DSPY_API_BASE)");
        cmd->add_flag("--no-cache", no_cache, "do not read or write the LM response cache");
    }
    dspy::cli::LoadedProgram load() const {
        dspy::cli::LMOverrides o;
        if (!lm.empty()) o.model = lm;
        if (!api_base.empty()) o.api_base = api_base;
        o.no_cache = no_cache;
        return dspy::cli::load_program(dspy::cli::read_program(program), o);
    }
};

// `name=value`: the value is JSON when the field is not a string field and it parses, else the text itself.
void add_input(dspy::Json& inputs, const dspy::cli::LoadedProgram& p, const std::string& kv) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
        throw dspy::cli::ProgramError("--input takes name=value, got '" + kv + "'");
    std::string name = kv.substr(0, eq), value = kv.substr(eq + 1);
    const dspy::Field* field = nullptr;
    for (const auto& f : p.signature.inputs())
        if (f.name == name) field = &f;
    if (field == nullptr) {
        std::string names;
        for (const auto& n : p.input_names()) names += (names.empty() ? "" : ", ") + n;
        throw dspy::cli::ProgramError("--input " + name + ": the program has no input field '" + name +
                                      "' (its inputs: " + names + ")");
    }
    if (field->type.kind != dspy::TypeSpec::Kind::Str) {
        try {
            inputs[name] = dspy::Json::parse(value);
            return;
        } catch (const dspy::Json::parse_error&) {
        }
    }
    inputs[name] = value;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"dspy: run, batch and serve a DSPy program described by a JSON file"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "dspy 0.1.0");

    Common run_c;
    std::vector<std::string> run_inputs;
    std::string run_input_json;
    bool run_json = false, run_inspect = false;
    CLI::App* run = app.add_subcommand("run", "call the program once and print the prediction");
    run_c.add(run);
    run->add_option("-i,--input", run_inputs, "an input field: name=value (repeatable)");
    run->add_option("--input-json", run_input_json, "the inputs as one JSON object");
    run->add_flag("--json", run_json, "print the prediction as one JSON object");
    run->add_flag("--inspect", run_inspect, "print the prompts and replies like dspy.inspect_history");

    Common batch_c;
    dspy::cli::BatchOptions bo;
    std::string in_path, out_path, metric, progress = "auto", summary_json;
    CLI::App* batch = app.add_subcommand("batch", "run the program over a JSONL file (resumable)");
    batch_c.add(batch);
    batch->add_option("input", in_path, "input JSONL: one object of input fields per line")->required();
    batch->add_option("-o,--output", out_path, "output JSONL (appended to; rerun to resume)")->required();
    batch->add_option("-c,--concurrency", bo.concurrency, "rows in flight")->check(CLI::Range(1, 100000));
    batch->add_option("--metric", metric, "score each row: " + dspy::cli::metric_names());
    batch->add_option("--label", bo.label, "the gold field the metric compares with (default: answer)");
    batch->add_option("--progress", progress, "bar (terminal), lines, off or auto")
        ->check(CLI::IsMember({"auto", "bar", "lines", "off"}));
    batch->add_option("--progress-interval", bo.progress_interval_s, "seconds between progress lines")
        ->check(CLI::PositiveNumber);
    batch->add_option("--summary-json", summary_json, "also write the summary as JSON to this file");
    batch->add_flag("--retry-errors", bo.retry_errors, "on resume, run the rows recorded with an error again");

    Common serve_c;
    dspy::cli::ServeOptions so;
    std::string token;
    CLI::App* srv = app.add_subcommand(
        "serve", "serve the program over HTTP (POST /v1/predict, ?stream=true for server-sent events)");
    serve_c.add(srv);
    srv->add_option("--host", so.host, "address to bind (default 127.0.0.1)");
    srv->add_option("--port", so.port, "port (0: any free port)")->check(CLI::Range(0, 65535));
    srv->add_option("--token", token, "require Authorization: Bearer TOKEN (also $DSPY_SERVE_TOKEN)");
    srv->add_option("--max-in-flight", so.max_in_flight, "predictions at once; more get 429")->check(CLI::Range(1, 1000000));
    srv->add_option("--max-body-bytes", so.max_body_bytes, "larger request bodies get 413");
    srv->add_option("--timeout-s", so.timeout_s, "per-prediction time limit (504 after)")->check(CLI::PositiveNumber);
    srv->add_option("--read-timeout-s", so.read_timeout_s, "close connections idle or sending a request this long")
        ->check(CLI::PositiveNumber);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        if (run->parsed()) {
            auto p = run_c.load();
            dspy::Json inputs = dspy::Json::object();
            if (!run_input_json.empty()) {
                try {
                    inputs = dspy::Json::parse(run_input_json);
                } catch (const dspy::Json::parse_error& e) {
                    throw dspy::cli::ProgramError(std::string("--input-json is not valid JSON: ") + e.what());
                }
                if (!inputs.is_object()) throw dspy::cli::ProgramError("--input-json must be a JSON object");
            }
            for (const auto& kv : run_inputs) add_input(inputs, p, kv);
            inputs = p.select_inputs(inputs);
            dspy::configure({.lm = p.lm, .adapter = p.adapter});
            dspy::Prediction pred = (*p.module)(inputs);
            if (run_inspect) {
                std::cout.flush();
                (void)dspy::inspect_history(static_cast<int>(p.stats->calls.load()));
                std::fflush(stdout);
            }
            if (run_json)
                std::cout << pred.data().dump(-1, ' ', false, dspy::Json::error_handler_t::replace) << "\n";
            else
                std::cout << pred << "\n";
            return 0;
        }
        if (batch->parsed()) {
            auto p = batch_c.load();
            bo.input = in_path;
            bo.output = out_path;
            if (!metric.empty()) bo.metric = metric;
            if (progress == "off") bo.log = nullptr;
            if (progress == "bar") bo.tty = true;
            if (progress == "lines") bo.tty = false;
            bo.stop = &g_stop;
            install_stop_handlers(
                "\ndspy: stopping: finishing the rows in flight (Ctrl-C again to quit now; finished rows are kept)\n");
            auto sum = dspy::cli::run_batch(p, bo);
            std::cout << sum.text(metric) << "output:  " << out_path << "\n";
            if (!summary_json.empty()) std::ofstream(summary_json) << sum.to_json().dump(2) << "\n";
            return sum.interrupted ? 130 : 0;
        }
        if (srv->parsed()) {
            auto p = serve_c.load();
            if (token.empty())
                if (const char* t = std::getenv("DSPY_SERVE_TOKEN")) token = t;
            if (!token.empty()) so.token = token;
            so.stop = &g_stop;
            so.on_listening = [](const std::string& host, int port) {
                std::printf("listening on %s:%d\n", host.c_str(), port);
                std::fflush(stdout);
            };
            install_stop_handlers("dspy: stopping: answering the requests in flight (again to quit now)\n");
            dspy::cli::serve(p, so);
            return 0;
        }
    } catch (const dspy::cli::ProgramError& e) {
        std::cerr << "dspy: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "dspy: " << e.what() << "\n";
        return 1;
    }
    return 2;
}
