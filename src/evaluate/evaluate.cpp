#include "dspy/evaluate/evaluate.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <ostream>
#include <utility>

#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/parallelizer.hpp"
#include "utils/progress_bar.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

std::string EvaluationResult::repr() const {
    return "EvaluationResult(score=" + pyfmt::float_repr(score) + ", results=<list of " +
           std::to_string(results.size()) + " results>)";
}

std::ostream& operator<<(std::ostream& os, const EvaluationResult& r) { return os << r.repr(); }

struct Evaluate::Resolved {
    Metric metric;
    std::string metric_name;
    const std::vector<Example>* devset;
    int num_threads;
    bool display_progress;
    DisplayTable display_table;
    int max_errors;
    bool provide_traceback;
    std::string save_as_csv;
    std::string save_as_json;
    Json callback_metadata;
};

namespace {

// DSPy's logger line (its default handler: "%(asctime)s %(levelname)s %(name)s: %(message)s" on stderr).
void log_info(const std::string& message) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm);
    std::fprintf(stderr, "%s INFO dspy.evaluate.evaluate: %s\n", stamp, message.c_str());
}

double score_value(const Json& s) {
    if (s.is_boolean()) return s.get<bool>() ? 1.0 : 0.0;
    if (s.is_number()) return s.get<double>();
    return 0.0;
}

// Python's sum() of the scores as str() shows it: an int while every score is a bool or int, else a float.
std::string py_sum_str(const std::vector<EvaluationRow>& rows, double& sum) {
    bool is_float = false;
    long long isum = 0;
    sum = 0;
    for (const auto& r : rows) {
        sum += score_value(r.score);
        if (r.score.is_number_float()) is_float = true;
        else if (r.score.is_boolean()) isum += r.score.get<bool>() ? 1 : 0;
        else if (r.score.is_number_integer()) isum += r.score.get<long long>();
        else if (!r.score.is_number()) is_float = true;
    }
    return is_float ? pyfmt::float_repr(sum) : std::to_string(isum);
}

// json.dump's default ensure_ascii=True: non-ASCII characters as \uXXXX (surrogate pairs above the BMP).
std::string ensure_ascii(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        char32_t cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
        for (int k = 1; k < len && i + static_cast<std::size_t>(k) < s.size(); ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
        i += static_cast<std::size_t>(len);
        auto hex = [&out](unsigned v) {
            char buf[16];  // g++-12 -Wformat-truncation cannot bound v below 0x10000
            std::snprintf(buf, sizeof buf, "\\u%04x", v);
            out += buf;
        };
        if (cp >= 0x10000) {
            cp -= 0x10000;
            hex(0xD800 + static_cast<unsigned>(cp >> 10));
            hex(0xDC00 + static_cast<unsigned>(cp & 0x3FF));
        } else {
            hex(static_cast<unsigned>(cp));
        }
    }
    return out;
}

// csv.writer's QUOTE_MINIMAL field.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

// DSPy's truncate_cell: more than 25 words become the first 25 and "...".
std::string truncate_cell(const std::string& text) {
    std::vector<std::string_view> words;
    std::string_view rest = text;
    while (true) {
        auto b = rest.find_first_not_of(" \t\n\r\f\v");
        if (b == std::string_view::npos) break;
        rest.remove_prefix(b);
        auto e = rest.find_first_of(" \t\n\r\f\v");
        words.push_back(rest.substr(0, e));
        if (e == std::string_view::npos) break;
        rest.remove_prefix(e);
    }
    if (words.size() <= 25) return text;
    std::string out;
    for (std::size_t i = 0; i < 25; ++i) {
        if (i) out += ' ';
        out += words[i];
    }
    return out + "...";
}

std::string stylize_metric(const Json& x) {
    if (x.is_null()) return "";
    if (x.is_number_float()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", x.get<double>());
        return std::string("\u2714\ufe0f [") + buf + "]";
    }
    return "\u2714\ufe0f [" + pyfmt::str(x) + "]";
}

// Terminal columns of a UTF-8 string (variation selectors take none).
std::size_t display_width(const std::string& s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) == 0x80) continue;
        if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xB8 &&
            static_cast<unsigned char>(s[i + 2]) == 0x8F)
            continue;  // U+FE0F
        ++w;
    }
    return w;
}

}  // namespace

Evaluate::Evaluate(EvaluateOptions options) : options_(std::move(options)) {
    if (options_.return_outputs)
        throw ValueError(
            "`return_outputs` is no longer supported. Results are always returned inside the `results` field of the "
            "`EvaluationResult` object.");
}

// on_evaluate_start, then (as DSPy's with_callbacks) the evaluation's call id becomes the active one, so the
// program's calls name it as their parent.
std::optional<ContextScope> Evaluate::start_callbacks(detail::CallbackScope& cb, const Resolved& r) const {
    std::optional<ContextScope> active;
    if (!cb.active()) return active;
    cb.start(this, Json{{"metric", r.metric_name}, {"devset", r.devset->size()}, {"num_threads", r.num_threads},
                        {"display_progress", r.display_progress}, {"display_table", r.display_table.index() == 0
                                                                                        ? Json(std::get<bool>(r.display_table))
                                                                                        : Json(std::get<int>(r.display_table))},
                        {"callback_metadata", r.callback_metadata}});
    SettingsOverrides o;
    o.active_call_id = cb.call_id();
    active.emplace(context(o));
    return active;
}

Evaluate::Resolved Evaluate::resolve(const EvaluateCallOptions& call) const {
    auto s = settings();
    Resolved r;
    r.metric = call.metric ? call.metric : options_.metric;
    if (!r.metric) throw ValueError("Evaluate: no metric given (set EvaluateOptions::metric or the call's metric)");
    r.metric_name = call.metric ? (call.metric_name.empty() ? std::string("metric") : call.metric_name)
                                : options_.metric_name;
    r.devset = call.devset ? &*call.devset : &options_.devset;
    r.num_threads = call.num_threads.value_or(options_.num_threads.value_or(0));
    r.display_progress = call.display_progress.value_or(options_.display_progress);
    r.display_table = call.display_table.value_or(options_.display_table);
    r.max_errors = options_.max_errors.value_or(s->max_errors);
    r.provide_traceback = options_.provide_traceback.value_or(s->provide_traceback);
    r.save_as_csv = call.save_as_csv.value_or(options_.save_as_csv);
    r.save_as_json = call.save_as_json.value_or(options_.save_as_json);
    r.callback_metadata = call.callback_metadata;
    return r;
}

EvaluationResult Evaluate::operator()(Module& program, const EvaluateCallOptions& call) {
    Program fn = [&program](const Json& inputs) { return program(inputs); };
    return run(fn, call);
}

EvaluationResult Evaluate::operator()(const Program& program, const EvaluateCallOptions& call) { return run(program, call); }

EvaluationResult Evaluate::run(const Program& program, const EvaluateCallOptions& call) {
    Resolved r = resolve(call);
    detail::CallbackScope cb(detail::CallbackKind::Evaluate, nullptr);
    std::optional<ContextScope> active = start_callbacks(cb, r);
    try {
        if (!r.callback_metadata.is_null())
            std::fprintf(stderr, "dspy DEBUG: Evaluate is called with callback metadata: %s\n",
                         pyfmt::repr(r.callback_metadata).c_str());
        ParallelExecutor executor({.num_threads = r.num_threads == 0 ? std::nullopt : std::optional<int>(r.num_threads),
                                   .max_errors = r.max_errors,
                                   .disable_progress_bar = !r.display_progress,
                                   .provide_traceback = r.provide_traceback,
                                   .compare_results = true});
        const Metric& metric = r.metric;
        auto process_item = [&program, &metric](const Example& example) {
            Prediction prediction = program(example.inputs().data());
            Json score = metric(example, prediction);
            return std::pair<Prediction, Json>(std::move(prediction), std::move(score));
        };
        auto outcomes = executor.execute(process_item, *r.devset);
        std::vector<EvaluationRow> rows;
        rows.reserve(outcomes.size());
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            if (outcomes[i])
                rows.push_back({(*r.devset)[i], std::move(outcomes[i]->first), std::move(outcomes[i]->second)});
            else
                rows.push_back({(*r.devset)[i], Prediction(), Json(options_.failure_score)});
        }
        active.reset();
        EvaluationResult result = finish(r, std::move(rows));
        if (cb.active()) cb.end(Json{{"score", result.score}, {"results", result.results.size()}});
        return result;
    } catch (...) {
        active.reset();
        cb.fail(std::current_exception());
        throw;
    }
}

Task<EvaluationResult> Evaluate::acall(Module& program, EvaluateCallOptions call) {
    Resolved r = resolve(call);
    detail::CallbackScope cb(detail::CallbackKind::Evaluate, nullptr);
    std::optional<ContextScope> active = start_callbacks(cb, r);
    std::exception_ptr error;
    EvaluationResult result;
    try {
        detail::GatherOptions g;
        std::size_t bound = call.max_concurrency.value_or(
            static_cast<std::size_t>(r.num_threads > 0 ? r.num_threads : settings()->num_threads));
        g.max_concurrency = bound;
        g.max_errors = r.max_errors;
        g.provide_traceback = r.provide_traceback;
        g.show_progress = r.display_progress;
        g.compare_results = true;
        const std::vector<Example>& devset = *r.devset;
        std::vector<EvaluationRow> rows(devset.size());
        const Metric& metric = r.metric;
        auto job = [&program, &devset, &rows, &metric](std::size_t i) -> Task<double> {
            Json inputs = devset[i].inputs().data();
            auto call = program.acall(std::move(inputs));
            Prediction prediction = co_await std::move(call);
            Json score = metric(devset[i], prediction);
            double value = score_value(score);
            rows[i].prediction = std::move(prediction);
            rows[i].score = std::move(score);
            co_return value;
        };
        auto describe = [&devset](std::size_t i) { return devset[i].repr(); };
        std::vector<std::exception_ptr> errors;
        auto gathered = detail::bounded_gather(devset.size(), g, job, describe, errors);
        co_await std::move(gathered);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            rows[i].example = devset[i];
            if (errors[i]) {
                rows[i].prediction = Prediction();
                rows[i].score = options_.failure_score;
            }
        }
        active.reset();
        result = finish(r, std::move(rows));
    } catch (...) {
        error = std::current_exception();
    }
    active.reset();
    if (error) {
        cb.fail(error);
        std::rethrow_exception(error);
    }
    if (cb.active()) cb.end(Json{{"score", result.score}, {"results", result.results.size()}});
    co_return result;
}

EvaluationResult Evaluate::finish(const Resolved& r, std::vector<EvaluationRow> rows) const {
    double sum = 0;
    std::string ncorrect = py_sum_str(rows, sum);
    const std::size_t ntotal = r.devset->size();
    // DSPy divides by len(devset) unguarded; an empty devset would be a ZeroDivisionError there.
    if (ntotal == 0) throw ValueError("Evaluate: the devset is empty");
    const double ratio = 100 * sum / static_cast<double>(ntotal);
    log_info("Average Metric: " + ncorrect + " / " + std::to_string(ntotal) + " (" +
             pyfmt::float_repr(detail::py_round(ratio, 1)) + "%)");

    const bool show_table = std::holds_alternative<bool>(r.display_table) ? std::get<bool>(r.display_table)
                                                                          : std::get<int>(r.display_table) != 0;
    if (show_table) {
        std::string table = format_result_table(rows, r.metric_name, r.display_table);
        std::fwrite(table.data(), 1, table.size(), stdout);
        std::fflush(stdout);
    }
    if (!r.save_as_csv.empty() || !r.save_as_json.empty()) {
        Json data = prepare_results_output(rows, r.metric_name);
        if (!r.save_as_csv.empty()) {
            // The header is the first row's keys, as DictWriter(fieldnames=data[0].keys()); keys first seen in
            // later rows are appended instead of failing after the whole run (DSPy raises ValueError there).
            std::vector<std::string> fields;
            for (const auto& row : data)
                for (auto it = row.begin(); it != row.end(); ++it)
                    if (std::find(fields.begin(), fields.end(), it.key()) == fields.end()) fields.push_back(it.key());
            std::ofstream f(r.save_as_csv, std::ios::binary);
            if (!f) throw ValueError("Evaluate: cannot write save_as_csv file '" + r.save_as_csv + "'");
            auto write_row = [&f](const std::vector<std::string>& cells) {
                for (std::size_t i = 0; i < cells.size(); ++i) f << (i ? "," : "") << csv_field(cells[i]);
                f << "\r\n";
            };
            write_row(fields);
            for (const auto& row : data) {
                std::vector<std::string> cells;
                for (const auto& k : fields) {
                    auto it = row.find(k);
                    cells.push_back(it == row.end() || it->is_null() ? std::string() : pyfmt::str(*it));
                }
                write_row(cells);
            }
            if (!f) throw ValueError("Evaluate: failed writing save_as_csv file '" + r.save_as_csv + "'");
        }
        if (!r.save_as_json.empty()) {
            std::ofstream f(r.save_as_json, std::ios::binary);
            if (!f) throw ValueError("Evaluate: cannot write save_as_json file '" + r.save_as_json + "'");
            f << ensure_ascii(pyfmt::json_dumps(data));
            if (!f) throw ValueError("Evaluate: failed writing save_as_json file '" + r.save_as_json + "'");
        }
    }
    EvaluationResult result;
    result.score = detail::py_round(ratio, 2);
    result.results = std::move(rows);
    return result;
}

Json Evaluate::prepare_results_output(const std::vector<EvaluationRow>& results, const std::string& metric_name) {
    Json out = Json::array();
    for (const auto& row : results) {
        const Json& d1 = row.example.toDict();
        const Json& d2 = row.prediction.toDict();
        Json merged = Json::object();
        for (auto it = d1.begin(); it != d1.end(); ++it)
            merged[d2.contains(it.key()) ? "example_" + it.key() : it.key()] = it.value();
        for (auto it = d2.begin(); it != d2.end(); ++it)
            merged[d1.contains(it.key()) ? "pred_" + it.key() : it.key()] = it.value();
        merged[metric_name] = row.score;
        out.push_back(std::move(merged));
    }
    return out;
}

std::string Evaluate::format_result_table(const std::vector<EvaluationRow>& results, const std::string& metric_name,
                                          const DisplayTable& display_table) {
    Json data = prepare_results_output(results, metric_name);
    std::vector<std::string> columns;
    for (const auto& row : data)
        for (auto it = row.begin(); it != row.end(); ++it)
            if (std::find(columns.begin(), columns.end(), it.key()) == columns.end()) columns.push_back(it.key());
    std::size_t shown = data.size();
    if (const int* n = std::get_if<int>(&display_table)) shown = std::min<std::size_t>(shown, *n < 0 ? 0 : static_cast<std::size_t>(*n));
    // cells[row][col]; row 0 is the header
    std::vector<std::vector<std::string>> cells(shown + 1);
    cells[0].push_back("");
    for (const auto& c : columns) cells[0].push_back(c);
    for (std::size_t i = 0; i < shown; ++i) {
        cells[i + 1].push_back(std::to_string(i));
        for (const auto& c : columns) {
            auto it = data[i].find(c);
            if (c == metric_name)
                cells[i + 1].push_back(it == data[i].end() ? "" : stylize_metric(*it));
            else
                cells[i + 1].push_back(it == data[i].end() || it->is_null() ? "NaN" : truncate_cell(pyfmt::str(*it)));
        }
    }
    std::vector<std::size_t> width(columns.size() + 1, 0);
    for (const auto& row : cells)
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
    std::string out;
    for (const auto& row : cells) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            std::string pad(width[c] - display_width(row[c]), ' ');
            if (c == 0)
                line += row[c] + pad;  // pandas left-aligns the index
            else
                line += "  " + pad + row[c];
        }
        out += line + "\n";
    }
    if (shown < data.size())
        out += "... " + std::to_string(data.size() - shown) + " more rows not displayed ...\n";
    return out;
}

}  // namespace dspy
