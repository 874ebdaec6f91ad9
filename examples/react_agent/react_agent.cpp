// A multi-hop question-answering agent: dspy::ReAct with two async tools (`search`, a BM25 keyword search over
// a small corpus, and `lookup`, which fetches a whole article by title), answering 32 two-hop questions with
// `acall`, 32 in flight on one thread, then one at a time, and printing both wall times.
//
// Offline (the default) it starts tools/dspy-mock-lm with a realistic latency and a rules file that makes the
// mock play a careful agent: it picks the second hop only once the first observation holds the fact leading to
// it, and finishes only once the second holds the answer. With OPENAI_API_KEY set it asks a real model instead
// (DSPY_LM names it, default openai/gpt-4o-mini; OPENAI_BASE_URL changes the endpoint).
//
//   react_agent [--questions N] [--concurrency C] [--latency-ms L] [--sequential N] [--io-ms T]
//               [--data DIR] [--mock PATH]
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dspy/adapters/types/tool.hpp"
#include "dspy/clients/lm.hpp"
#include "dspy/dspy.hpp"
#include "dspy/predict/react.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

#ifdef DSPY_EXAMPLE_DATA_DIR
constexpr const char* kDataDir = DSPY_EXAMPLE_DATA_DIR;
#else
constexpr const char* kDataDir = "examples/data";
#endif
#ifdef DSPY_MOCK_LM_PATH
constexpr const char* kMockPath = DSPY_MOCK_LM_PATH;
#else
constexpr const char* kMockPath = "dspy-mock-lm";
#endif

// ---- the corpus and its search index ---------------------------------------------------------------------------

struct Article {
    std::string title;
    std::string text;
};

/// Reads a JSONL file, one object per line; a bad line is reported with its number.
std::vector<dspy::Json> read_jsonl(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<dspy::Json> rows;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        dspy::Json row = dspy::Json::parse(line, nullptr, false);
        if (row.is_discarded() || !row.is_object())
            throw std::runtime_error(path + ":" + std::to_string(n) + ": not a JSON object");
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string field(const dspy::Json& row, const char* key, const std::string& where) {
    auto it = row.find(key);
    if (it == row.end() || !it->is_string()) throw std::runtime_error(where + ": missing string field \"" + key + "\"");
    return it->get<std::string>();
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Lower-cased alphanumeric words, minus a few words too common to rank by.
std::vector<std::string> tokenize(std::string_view text) {
    static const std::unordered_set<std::string> stop = {"a",   "an", "and", "the", "of", "in", "on",  "is",
                                                         "was", "by", "to",  "its", "it", "at", "for", "who"};
    std::vector<std::string> words;
    std::string w;
    auto flush = [&] {
        if (!w.empty() && !stop.contains(w)) words.push_back(w);
        w.clear();
    };
    for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else
            flush();
    }
    flush();
    return words;
}

/// Okapi BM25 over title + text (the title counted twice: a match there says more than one in passing).
class Corpus {
public:
    explicit Corpus(const std::string& path) {
        auto rows = read_jsonl(path);
        for (size_t i = 0; i < rows.size(); ++i) {
            const std::string where = path + " row " + std::to_string(i + 1);
            articles_.push_back({field(rows[i], "title", where), field(rows[i], "text", where)});
        }
        if (articles_.empty()) throw std::runtime_error(path + ": no articles");
        double total = 0;
        for (size_t d = 0; d < articles_.size(); ++d) {
            const auto& a = articles_[d];
            auto words = tokenize(a.title + " " + a.title + " " + a.text);
            lengths_.push_back(static_cast<double>(words.size()));
            total += static_cast<double>(words.size());
            std::unordered_map<std::string, int> tf;
            for (const auto& w : words) ++tf[w];
            for (const auto& [w, n] : tf) postings_[w].push_back({d, n});
            by_title_.emplace(lowercase(a.title), d);
        }
        avg_length_ = total / static_cast<double>(articles_.size());
    }

    /// The `k` best articles for `query`, best first (ties in corpus order); articles matching no word are left out.
    [[nodiscard]] std::vector<size_t> search(std::string_view query, size_t k) const {
        constexpr double k1 = 1.2, b = 0.75;
        std::vector<double> score(articles_.size(), 0.0);
        const double n = static_cast<double>(articles_.size());
        for (const auto& w : tokenize(query)) {
            auto it = postings_.find(w);
            if (it == postings_.end()) continue;
            const double df = static_cast<double>(it->second.size());
            const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
            for (const auto& [d, tf] : it->second) {
                const double f = tf, norm = k1 * (1 - b + b * lengths_[d] / avg_length_);
                score[d] += idf * f * (k1 + 1) / (f + norm);
            }
        }
        std::vector<size_t> hits;
        for (size_t d = 0; d < score.size(); ++d)
            if (score[d] > 0) hits.push_back(d);
        std::stable_sort(hits.begin(), hits.end(), [&](size_t x, size_t y) { return score[x] > score[y]; });
        if (hits.size() > k) hits.resize(k);
        return hits;
    }

    [[nodiscard]] const Article* find(std::string_view title) const {
        auto it = by_title_.find(lowercase(title));
        return it == by_title_.end() ? nullptr : &articles_[it->second];
    }
    [[nodiscard]] const Article& at(size_t i) const { return articles_[i]; }
    [[nodiscard]] size_t size() const { return articles_.size(); }

private:
    struct Posting {
        size_t doc;
        int tf;
    };
    std::vector<Article> articles_;
    std::vector<double> lengths_;
    double avg_length_ = 1;
    std::unordered_map<std::string, std::vector<Posting>> postings_;
    std::unordered_map<std::string, size_t> by_title_;
};

// ---- the async tools -------------------------------------------------------------------------------------------

// Each tool is a coroutine that waits `io` first, as a call to a search service would: while it waits, the
// event loop runs the other questions. The functors live inside the dspy::Tool, so `corpus` outlives every call.

/// search(query, k): the k best articles, each as "Title: first sentence".
struct Search {
    std::shared_ptr<const Corpus> corpus;
    std::chrono::milliseconds io;

    dspy::Task<std::vector<std::string>> operator()(std::string query, int k) const {
        if (k < 1 || k > 10) throw dspy::ValueError("k must be between 1 and 10, got " + std::to_string(k));
        co_await dspy::sleep(io);
        std::vector<std::string> results;
        for (size_t d : corpus->search(query, static_cast<size_t>(k))) {
            const Article& a = corpus->at(d);
            auto end = a.text.find(". ");
            results.push_back(a.title + ": " + (end == std::string::npos ? a.text : a.text.substr(0, end + 1)));
        }
        if (results.empty()) results.emplace_back("No article matches '" + query + "'.");
        co_return results;
    }
};

/// lookup(title): the whole article of that title.
struct Lookup {
    std::shared_ptr<const Corpus> corpus;
    std::chrono::milliseconds io;

    dspy::Task<std::string> operator()(std::string title) const {
        co_await dspy::sleep(io);
        const Article* a = corpus->find(title);
        if (!a) throw dspy::ValueError("no article is titled '" + title + "'; search for it first");
        co_return a->title + ": " + a->text;
    }
};

std::vector<dspy::Tool> make_tools(const std::shared_ptr<const Corpus>& corpus, std::chrono::milliseconds io) {
    std::vector<dspy::Tool> tools;
    tools.emplace_back(Search{corpus, io},
                       dspy::ToolOptions{.name = "search",
                                         .desc = "Keyword search over an encyclopedia of articles. Returns the k best "
                                                 "articles as 'Title: first sentence'.",
                                         .args = {"query", "k"},
                                         .arg_defaults = {{"k", 3}}});
    tools.emplace_back(
        Lookup{corpus, io},
        dspy::ToolOptions{
            .name = "lookup", .desc = "Returns the whole article with exactly this title.", .args = {"title"}});
    return tools;
}

// ---- questions and answers -------------------------------------------------------------------------------------

struct Question {
    std::string id, question, gold;
};

struct Outcome {
    std::string answer;
    std::string path;    // the tool calls, e.g. search(...) -> lookup(...) -> finish
    int tool_calls = 0;  // distinct calls: asking the same thing twice is no second hop
    std::string error;
};

/// Lower case, letters and digits only, without a leading "the": "The River Selwyn." equals "river selwyn".
std::string normalize(std::string_view s) {
    std::string out;
    for (const auto& w : tokenize(s)) {
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

bool correct(const Outcome& o, const Question& q) {
    if (!o.error.empty()) return false;
    const std::string a = normalize(o.answer), g = normalize(q.gold);
    return !g.empty() && (a == g || (" " + a + " ").find(" " + g + " ") != std::string::npos);
}

Outcome outcome_of(const dspy::Prediction& pred) {
    Outcome o;
    dspy::Json answer = pred.get("answer");
    o.answer = answer.is_string() ? answer.get<std::string>() : answer.dump();
    const dspy::Json trajectory = pred.get("trajectory");
    std::unordered_set<std::string> calls;
    for (int i = 0;; ++i) {
        auto name = trajectory.find("tool_name_" + std::to_string(i));
        if (name == trajectory.end()) break;
        const std::string tool = name->is_string() ? name->get<std::string>() : name->dump();
        if (!o.path.empty()) o.path += " -> ";
        o.path += tool;
        if (tool == "finish") break;
        const size_t call_start = o.path.size() - tool.size();
        o.path += '(';
        auto args = trajectory.find("tool_args_" + std::to_string(i));
        if (args != trajectory.end() && args->is_object()) {
            bool first = true;
            for (const auto& [k, v] : args->items()) {
                if (k == "k") continue;  // the page size says nothing about the hop
                if (!first) o.path += ", ";
                first = false;
                o.path += v.is_string() ? v.get<std::string>() : v.dump();
            }
        }
        o.path += ')';
        if (calls.insert(o.path.substr(call_start)).second) ++o.tool_calls;
    }
    return o;
}

dspy::Task<Outcome> answer(dspy::ReAct& agent, const Question& q) {
    try {
        dspy::Prediction pred = co_await agent.acall("question", q.question);
        co_return outcome_of(pred);
    } catch (const dspy::CancelledError&) {
        throw;
    } catch (const std::exception& e) {
        Outcome failed;
        failed.error = e.what();
        co_return failed;
    }
}

dspy::Task<Outcome> answer_limited(dspy::ReAct& agent, dspy::CapacityLimiter& limiter, const Question& q) {
    auto acquire = limiter.acquire();
    dspy::CapacityLimiter::Permit permit = co_await acquire;
    Outcome o = co_await answer(agent, q);
    co_return o;
}

/// All questions through `acall`, at most `concurrency` in flight, on this thread's event loop.
dspy::Task<std::vector<Outcome>> answer_concurrently(dspy::ReAct& agent, const std::vector<Question>& qs,
                                                     size_t concurrency) {
    dspy::CapacityLimiter limiter(concurrency);
    std::vector<dspy::Task<Outcome>> tasks;
    tasks.reserve(qs.size());
    for (const auto& q : qs) tasks.push_back(answer_limited(agent, limiter, q));
    std::vector<Outcome> outcomes = co_await dspy::when_all(std::move(tasks));
    co_return outcomes;
}

/// The first `n` questions, each awaited before the next starts.
dspy::Task<std::vector<Outcome>> answer_sequentially(dspy::ReAct& agent, const std::vector<Question>& qs, size_t n) {
    std::vector<Outcome> outcomes;
    for (size_t i = 0; i < n && i < qs.size(); ++i) {
        Outcome o = co_await answer(agent, qs[i]);
        outcomes.push_back(std::move(o));
    }
    co_return outcomes;
}

// ---- the mock LM -----------------------------------------------------------------------------------------------

/// dspy-mock-lm as a child process on a free port; stopped (SIGTERM) when this goes out of scope.
class MockLm {
public:
    MockLm(const std::string& exe, const std::string& rules, int latency_ms) {
        int out[2];
        if (pipe(out) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
        std::vector<std::string> args = {
            exe, "--port", "0", "--exit-after-s", "600", "--latency-ms", std::to_string(latency_ms), "--rules", rules};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        const int rc = posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(out[1]);
        if (rc != 0) {
            close(out[0]);
            throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc) + " (pass --mock PATH)");
        }
        std::string banner;  // "listening on 127.0.0.1:PORT\n"
        pollfd p{out[0], POLLIN, 0};
        while (banner.find('\n') == std::string::npos && poll(&p, 1, 10000) > 0) {
            char buf[128];
            const ssize_t got = read(out[0], buf, sizeof buf);
            if (got <= 0) break;
            banner.append(buf, static_cast<size_t>(got));
        }
        close(out[0]);
        const auto colon = banner.rfind(':');
        if (banner.rfind("listening on ", 0) != 0 || colon == std::string::npos) {
            stop();
            throw std::runtime_error(exe + " did not start (see its message above)");
        }
        port_ = std::atoi(banner.c_str() + colon + 1);
    }
    MockLm(const MockLm&) = delete;
    MockLm& operator=(const MockLm&) = delete;
    ~MockLm() { stop(); }

    [[nodiscard]] std::string api_base() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

private:
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    pid_t pid_ = -1;
    int port_ = 0;
};

// ---- the program -----------------------------------------------------------------------------------------------

struct Options {
    size_t questions = 0;  // 0: all
    size_t concurrency = 32;
    int latency_ms = 50;
    std::optional<size_t> sequential;  // how many to time one at a time; all by default
    int io_ms = 5;
    std::string data = kDataDir;
    std::string mock = kMockPath;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "react_agent: " << why
              << "\nusage: react_agent [--questions N] [--concurrency C] [--latency-ms L] [--sequential N] "
                 "[--io-ms T] [--data DIR] [--mock PATH]\n";
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) usage(flag + " needs a value");
        const std::string value = argv[++i];
        auto number = [&] {
            char* end = nullptr;
            const long v = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || v < 0 || v > 1'000'000) usage("bad " + flag + ": '" + value + "'");
            return static_cast<size_t>(v);
        };
        if (flag == "--questions")
            o.questions = number();
        else if (flag == "--concurrency")
            o.concurrency = std::max<size_t>(1, number());
        else if (flag == "--latency-ms")
            o.latency_ms = static_cast<int>(number());
        else if (flag == "--sequential")
            o.sequential = number();
        else if (flag == "--io-ms")
            o.io_ms = static_cast<int>(number());
        else if (flag == "--data")
            o.data = value;
        else if (flag == "--mock")
            o.mock = value;
        else
            usage("unknown argument '" + flag + "'");
    }
    return o;
}

/// The mock named at build time, else the one beside this executable (an installed or copied build).
std::string find_mock(const std::string& configured) {
    if (access(configured.c_str(), X_OK) == 0) return configured;
    char self[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return configured;
    std::string beside(self, static_cast<size_t>(len));
    beside = beside.substr(0, beside.rfind('/') + 1) + "dspy-mock-lm";
    return access(beside.c_str(), X_OK) == 0 ? beside : configured;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int run(const Options& opt) {
    auto corpus = std::make_shared<const Corpus>(opt.data + "/react_agent_corpus.jsonl");
    std::vector<Question> questions;
    for (const auto& row : read_jsonl(opt.data + "/react_agent_questions.jsonl")) {
        const std::string where =
            opt.data + "/react_agent_questions.jsonl question " + std::to_string(questions.size() + 1);
        questions.push_back({field(row, "id", where), field(row, "question", where), field(row, "answer", where)});
    }
    if (opt.questions > 0 && opt.questions < questions.size()) questions.resize(opt.questions);

    // The LM: a real model when OPENAI_API_KEY is set, else the mock. The cache is off so that the sequential
    // run really asks again.
    std::unique_ptr<MockLm> mock;
    std::string model = "openai/mock", where;
    dspy::LMOptions lm_options{.cache = false};
    const char* key = std::getenv("OPENAI_API_KEY");
    if (key != nullptr && *key != '\0') {
        if (const char* m = std::getenv("DSPY_LM"); m != nullptr && *m != '\0')
            model = m;
        else
            model = "openai/gpt-4o-mini";
        if (const char* base = std::getenv("OPENAI_BASE_URL"); base != nullptr && *base != '\0')
            lm_options.api_base = std::string(base);
        where = lm_options.api_base.value_or("the provider's API");
    } else {
        mock = std::make_unique<MockLm>(find_mock(opt.mock), opt.data + "/react_agent_rules.json", opt.latency_ms);
        lm_options.api_base = mock->api_base();
        where = *lm_options.api_base + " (dspy-mock-lm, " + std::to_string(opt.latency_ms) + " ms per call)";
    }
    dspy::configure({.lm = std::make_shared<dspy::LM>(model, std::move(lm_options))});

    dspy::ReAct agent("question -> answer", make_tools(corpus, std::chrono::milliseconds(opt.io_ms)), 6);

    const size_t n = questions.size();
    const size_t in_flight = std::min(opt.concurrency, n);
    std::cout << "ReAct agent: " << n << " questions, " << corpus->size() << " articles, tools search and lookup ("
              << opt.io_ms << " ms each), LM " << model << " at " << where << "\n\n";

    auto t0 = Clock::now();
    std::vector<Outcome> outcomes = dspy::run(answer_concurrently(agent, questions, in_flight));
    const double concurrent_s = seconds_since(t0);

    size_t right = 0, multi_hop = 0;
    for (size_t i = 0; i < n; ++i) {
        const auto& q = questions[i];
        const auto& o = outcomes[i];
        const bool ok = correct(o, q);
        right += ok ? 1 : 0;
        multi_hop += o.tool_calls >= 2 ? 1 : 0;
        std::cout << q.id << ". " << q.question << "\n    " << (o.error.empty() ? o.path : "error: " + o.error)
                  << "\n    answer: " << o.answer << " | gold: " << q.gold << " | " << (ok ? "correct" : "WRONG")
                  << '\n';
    }
    std::cout << "\ncorrect: " << right << '/' << n << "; multi-hop (two or more different tool calls): " << multi_hop
              << '/' << n << '\n';

    const size_t seq_n = std::min(opt.sequential.value_or(n), n);
    std::printf("concurrent: %zu questions, %zu in flight (acall + CapacityLimiter): %.2f s\n", n, in_flight,
                concurrent_s);
    if (seq_n > 0) {
        t0 = Clock::now();
        std::vector<Outcome> seq = dspy::run(answer_sequentially(agent, questions, seq_n));
        const double measured = seconds_since(t0);
        size_t seq_right = 0;
        for (size_t i = 0; i < seq.size(); ++i) seq_right += correct(seq[i], questions[i]) ? 1 : 0;
        double sequential_s = measured;
        if (seq_n == n) {
            std::printf("sequential: %zu questions, one at a time (acall): %.2f s (%zu/%zu correct)\n", n, measured,
                        seq_right, seq_n);
        } else {
            sequential_s = measured * static_cast<double>(n) / static_cast<double>(seq_n);
            std::printf(
                "sequential: first %zu questions, one at a time (acall): %.2f s (%zu/%zu correct); "
                "extrapolated to %zu questions: %.2f s\n",
                seq_n, measured, seq_right, seq_n, n, sequential_s);
        }
        std::printf("speed-up: %.1fx\n", sequential_s / concurrent_s);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "react_agent: " << e.what() << '\n';
        return 1;
    }
}
