#include "batch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "dspy/async/event_loop.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/when_all.hpp"
#include "dspy/settings/settings.hpp"
#include "metrics.hpp"
#include "utils/pyfmt.hpp"

namespace dspy::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string grouped(int64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

std::string duration_text(double s) {
    if (!std::isfinite(s)) return "?";
    if (s < 60) return fixed(s, 1) + "s";
    const auto total = static_cast<int64_t>(s);
    return std::to_string(total / 60) + "m" + (total % 60 < 10 ? "0" : "") + std::to_string(total % 60) + "s";
}

// Appends whole lines with one write() each, so a crash leaves at most a torn last line (repaired on resume).
class LineWriter {
public:
    explicit LineWriter(const std::filesystem::path& path, bool truncate = false) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0644);
        if (fd_ < 0) throw std::runtime_error(path.string() + ": cannot open for writing: " + std::strerror(errno));
    }
    ~LineWriter() {
        if (fd_ >= 0) {
            ::fdatasync(fd_);
            ::close(fd_);
        }
    }
    LineWriter(const LineWriter&) = delete;
    LineWriter& operator=(const LineWriter&) = delete;

    void write_line(const Json& row) {
        buf_ = row.dump(-1, ' ', false, Json::error_handler_t::replace);
        buf_ += '\n';
        write_raw(buf_);
    }
    void write_raw(std::string_view text) {
        const char* p = text.data();
        size_t left = text.size();
        while (left > 0) {
            ssize_t n = ::write(fd_, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error(path_.string() + ": write failed: " + std::strerror(errno));
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::string buf_;
};

struct Row {
    int64_t line;
    std::string text;
};

class BatchRun {
public:
    BatchRun(LoadedProgram& program, const BatchOptions& opt, std::vector<Row> rows, LineWriter& out,
             BatchSummary& sum)
        : program_(program), opt_(opt), rows_(std::move(rows)), out_(out), sum_(sum) {
        tty_ = opt.tty.value_or(opt.log != nullptr && ::isatty(::fileno(opt.log)) != 0);
    }

    Task<void> main() {
        t0_ = Clock::now();
        last_report_ = t0_;
        auto work = workers();
        auto prog = progress();
        co_await when_all(std::move(work), std::move(prog));
    }

    double score_sum_ = 0;
    int64_t scored_ = 0;

private:
    [[nodiscard]] bool stopping() const { return opt_.stop != nullptr && opt_.stop->load(std::memory_order_relaxed); }

    Task<void> workers() {
        const size_t n = std::min(rows_.size(), static_cast<size_t>(std::max(1, opt_.concurrency)));
        std::vector<Task<void>> ws;
        ws.reserve(n);
        for (size_t i = 0; i < n; ++i) ws.push_back(worker());
        co_await when_all(std::move(ws));
        finished_ = true;
    }

    // Goes back to the event loop before the next row. When rows complete synchronously (every answer from the
    // cache) the worker would otherwise run row after row inside one chain of resumptions, and a build whose
    // coroutine transfers are not tail calls (g++-12 at -O1 with ASan) grows the stack until it overflows.
    struct YieldToLoop {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) const { EventLoop::current()->post(h); }
        void await_resume() const noexcept {}
    };

    Task<void> worker() {
        while (!stopping() && next_ < rows_.size()) {
            co_await YieldToLoop{};
            if (stopping() || next_ >= rows_.size()) break;
            const size_t idx = next_++;
            auto task = process(rows_[idx]);
            co_await std::move(task);
        }
    }

    void record(Json& out, bool error) {
        out_.write_line(out);
        ++sum_.done;
        if (error) ++sum_.errors;
    }

    // The input row's fields; one the prediction also has (a label such as `answer`) is kept as `gold_<name>`.
    static void copy_row(Json& out, const Json& row, const Json& prediction) {
        for (auto it = row.begin(); it != row.end(); ++it) {
            const std::string& k = it.key();
            if (k == "_line" || k == "error") continue;
            out[prediction.contains(k) ? "gold_" + k : k] = it.value();
        }
    }

    Task<void> process(const Row& row) {
        Json out = Json::object();
        out["_line"] = row.line;
        Json parsed;
        std::string bad;
        try {
            parsed = Json::parse(row.text);
            if (!parsed.is_object()) bad = "line " + std::to_string(row.line) + ": expected a JSON object, got " +
                                           std::string(parsed.type_name());
        } catch (const Json::parse_error& e) {
            bad = "line " + std::to_string(row.line) + ": not valid JSON: " + e.what();
        }
        if (!bad.empty()) {
            ++sum_.bad_lines;
            out["error"] = bad;
            out["input"] = row.text.size() > 200 ? row.text.substr(0, 200) + "..." : row.text;
            if (opt_.metric) ++scored_;
            record(out, true);
            co_return;
        }
        Json inputs;
        try {
            inputs = program_.select_inputs(parsed);
        } catch (const std::exception& e) {
            bad = "line " + std::to_string(row.line) + ": " + e.what();
        }
        if (!bad.empty()) {
            ++sum_.bad_lines;
            copy_row(out, parsed, Json::object());
            out["error"] = bad;
            if (opt_.metric) ++scored_;
            record(out, true);
            co_return;
        }

        Prediction pred;
        std::string call_error;
        try {
            auto call = program_.module->acall(std::move(inputs));
            pred = co_await std::move(call);
        } catch (const std::exception& e) {
            call_error = e.what();
        }
        if (!call_error.empty()) {
            copy_row(out, parsed, Json::object());
            out["error"] = call_error;
            if (opt_.metric) ++scored_;
            record(out, true);
            co_return;
        }
        const Json& fields = pred.data();
        copy_row(out, parsed, fields);
        for (auto it = fields.begin(); it != fields.end(); ++it) out[it.key()] = it.value();
        if (opt_.metric) {
            const std::string& label = opt_.label;
            const Json* gold = parsed.contains(label) ? &parsed.at(label) : nullptr;
            const std::string pred_field = fields.contains(label) ? label : program_.output_names().back();
            if (gold != nullptr && fields.contains(pred_field)) {
                double s = score(*opt_.metric, fields.at(pred_field), *gold);
                out["_score"] = s;
                score_sum_ += s;
                ++scored_;
            }
        }
        record(out, false);
    }

    Task<void> progress() {
        const auto tick = std::chrono::milliseconds(100);  // redraw rate on a terminal; plain lines are rarer
        while (!finished_) {
            co_await dspy::sleep(tick);
            if (finished_) break;
            const auto now = Clock::now();
            if (!tty_ && std::chrono::duration<double>(now - last_report_).count() < opt_.progress_interval_s) continue;
            last_report_ = now;
            report(false);
        }
        report(true);
    }

    void report(bool final) {
        if (opt_.log == nullptr) return;
        const double el = std::chrono::duration<double>(Clock::now() - t0_).count();
        const int64_t total = static_cast<int64_t>(rows_.size());
        const int64_t done = sum_.done;
        const double rate = el > 0 ? static_cast<double>(done) / el : 0.0;
        const double eta = rate > 0 ? static_cast<double>(total - done) / rate : INFINITY;
        std::string line;
        if (tty_) {
            const int width = 30;
            const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
            line = "\r\x1b[K  ";
            for (int i = 0; i < width; ++i) line += i < filled ? "\u2588" : "\u2591";
            line += " " + std::to_string(done) + "/" + std::to_string(total) + "  " + fixed(rate, 1) + " rows/s  ETA " +
                    (final ? std::string("0.0s") : duration_text(eta)) + "  errors " + std::to_string(sum_.errors);
            if (final) line += "\n";
        } else {
            if (final && done == 0) return;
            line = "batch: " + std::to_string(done) + "/" + std::to_string(total) + " rows  " + fixed(rate, 1) +
                   " rows/s  ETA " + (final ? std::string("0.0s") : duration_text(eta)) + "  errors " +
                   std::to_string(sum_.errors) + "\n";
        }
        std::fwrite(line.data(), 1, line.size(), opt_.log);
        std::fflush(opt_.log);
    }

    LoadedProgram& program_;
    const BatchOptions& opt_;
    std::vector<Row> rows_;
    LineWriter& out_;
    BatchSummary& sum_;
    bool tty_ = false;
    size_t next_ = 0;
    bool finished_ = false;
    Clock::time_point t0_, last_report_;
};

}  // namespace

ResumeState scan_output(const std::filesystem::path& output, bool drop_errors) {
    ResumeState st;
    std::error_code ec;
    if (!std::filesystem::exists(output, ec)) return st;
    std::ifstream in(output, std::ios::binary);
    if (!in) throw std::runtime_error(output.string() + ": cannot read the output file to resume");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    in.close();
    // A last line without its newline is a write the process did not finish: it is dropped (its row reruns).
    const size_t end = data.rfind('\n') == std::string::npos ? 0 : data.rfind('\n') + 1;
    if (end < data.size()) {
        st.repaired_bytes = static_cast<int64_t>(data.size() - end);
        if (::truncate(output.c_str(), static_cast<off_t>(end)) != 0)
            throw std::runtime_error(output.string() + ": cannot cut the torn last line: " + std::strerror(errno));
    }
    size_t pos = 0;
    int64_t lineno = 0;
    std::string kept;  // the lines that stay, when error lines are dropped
    while (pos < end) {
        const size_t nl = data.find('\n', pos);
        std::string_view line(data.data() + pos, nl - pos);
        pos = nl + 1;
        ++lineno;
        if (pyfmt::strip(line).empty()) continue;
        Json j;
        try {
            j = Json::parse(line);
        } catch (const Json::parse_error&) {
            throw std::runtime_error(output.string() + ":" + std::to_string(lineno) +
                                     ": not a JSON line written by dspy batch; refusing to resume into this file");
        }
        auto it = j.find("_line");
        if (!j.is_object() || it == j.end() || !it->is_number_integer())
            throw std::runtime_error(output.string() + ":" + std::to_string(lineno) +
                                     ": no \"_line\" field; this file was not written by dspy batch");
        if (drop_errors && j.contains("error")) {
            ++st.retried;
            continue;
        }
        if (drop_errors) (kept += line) += '\n';
        st.done.insert(it->get<int64_t>());
        if (j.contains("error")) ++st.errors;
        if (auto s = j.find("_score"); s != j.end() && s->is_number()) {
            st.score_sum += s->get<double>();
            ++st.scored;
        } else if (j.contains("error")) {
            ++st.scored;  // an error scores 0
        }
    }
    if (st.retried > 0) {
        const std::filesystem::path tmp = output.string() + ".tmp";
        {
            LineWriter w(tmp, true);
            w.write_raw(kept);
        }
        std::filesystem::rename(tmp, output);
    }
    return st;
}

BatchSummary run_batch(LoadedProgram& program, const BatchOptions& opt) {
    if (opt.metric && !is_metric(*opt.metric))
        throw std::runtime_error("--metric must be one of " + metric_names() + ", got '" + *opt.metric + "'");
    std::ifstream in(opt.input, std::ios::binary);
    if (!in) throw std::runtime_error(opt.input.string() + ": cannot open the input file");
    ResumeState resume = scan_output(opt.output, opt.retry_errors);

    BatchSummary sum;
    sum.repaired_bytes = resume.repaired_bytes;
    sum.retried = resume.retried;
    std::vector<Row> pending;
    std::string text;
    int64_t lineno = 0;
    while (std::getline(in, text)) {
        ++lineno;
        if (!text.empty() && text.back() == '\r') text.pop_back();
        if (pyfmt::strip(text).empty()) continue;
        ++sum.rows;
        if (resume.done.count(lineno)) {
            ++sum.resumed;
            continue;
        }
        pending.push_back(Row{lineno, std::move(text)});
    }
    if (opt.log && resume.repaired_bytes > 0)
        std::fprintf(opt.log, "resume: dropped a torn last line (%lld bytes) from %s; its row runs again\n",
                     static_cast<long long>(resume.repaired_bytes), opt.output.string().c_str());
    if (opt.log && resume.retried > 0)
        std::fprintf(opt.log, "resume: %lld rows recorded with an error run again (--retry-errors)\n",
                     static_cast<long long>(resume.retried));
    if (opt.log && sum.resumed > 0)
        std::fprintf(opt.log, "resume: %lld of %lld rows already in %s, %zu to go\n",
                     static_cast<long long>(sum.resumed), static_cast<long long>(sum.rows),
                     opt.output.string().c_str(), pending.size());

    LineWriter writer(opt.output);
    const int64_t calls0 = program.stats->calls, hits0 = program.stats->cache_hits,
                  pt0 = program.stats->prompt_tokens, ct0 = program.stats->completion_tokens;
    const auto t0 = Clock::now();
    BatchRun run(program, opt, std::move(pending), writer, sum);
    {
        auto scope = dspy::context({.lm = program.lm, .adapter = program.adapter, .disable_history = true});
        dspy::run(run.main());
    }
    sum.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    sum.lm_calls = program.stats->calls - calls0;
    sum.cache_hits = program.stats->cache_hits - hits0;
    sum.prompt_tokens = program.stats->prompt_tokens - pt0;
    sum.completion_tokens = program.stats->completion_tokens - ct0;
    sum.interrupted = sum.resumed + sum.done < sum.rows;
    if (opt.metric) {
        const int64_t scored = resume.scored + run.scored_;
        sum.scored = scored;
        if (scored > 0) sum.metric_mean = (resume.score_sum + run.score_sum_) / static_cast<double>(scored);
    }
    return sum;
}

Json BatchSummary::to_json() const {
    Json j = {{"rows", rows},
              {"resumed", resumed},
              {"done", done},
              {"errors", errors},
              {"bad_lines", bad_lines},
              {"interrupted", interrupted},
              {"wall_s", wall_s},
              {"rows_per_s", wall_s > 0 ? static_cast<double>(done) / wall_s : 0.0},
              {"lm_calls", lm_calls},
              {"cache_hits", cache_hits},
              {"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"scored", scored},
              {"retried", retried}};
    j["metric"] = metric_mean ? Json(*metric_mean) : Json(nullptr);
    return j;
}

std::string BatchSummary::text(const std::string& metric_name) const {
    std::string s;
    const double rate = wall_s > 0 ? static_cast<double>(done) / wall_s : 0.0;
    s += "rows:    " + grouped(done) + " done in " + fixed(wall_s, 2) + " s (" + fixed(rate, 1) + " rows/s)";
    if (resumed > 0) s += ", " + grouped(resumed) + " already done by an earlier run";
    if (retried > 0) s += " (" + grouped(retried) + " earlier errors retried)";
    s += ", " + grouped(errors) + (errors == 1 ? " error" : " errors");
    if (bad_lines > 0) s += " (" + grouped(bad_lines) + " bad input lines)";
    s += "\n";
    const double call_rate = wall_s > 0 ? static_cast<double>(lm_calls) / wall_s : 0.0;
    s += "LM:      " + grouped(lm_calls) + " calls (" + fixed(call_rate, 1) + " calls/s), " + grouped(cache_hits) +
         " cache hits, " + grouped(prompt_tokens) + " prompt + " + grouped(completion_tokens) +
         " completion tokens\n";
    if (metric_mean)
        s += "metric:  " + metric_name + " " + fixed(*metric_mean, 3) + " over " + grouped(scored) +
             " rows (errors count as 0)\n";
    if (interrupted)
        s += "stopped: " + grouped(rows - resumed - done) + " rows not done; run the same command again to resume\n";
    return s;
}

}  // namespace dspy::cli
