// Module state: dump/load keyed by predictor path, and the JSON files Python DSPy 3.3.1 writes and reads.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/warnings.hpp"
#include "utils/error_context.hpp"
#include "utils/pyfmt.hpp"

namespace dspy {

namespace {

// What we write into `metadata.dependency_versions`: the versions of the Python DSPy whose files we reproduce,
// so that Python DSPy loading our file sees no mismatch to warn about.
Json dependency_versions() { return Json{{"python", "3.11"}, {"dspy", "3.3.1"}, {"cloudpickle", "3.1"}}; }

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

std::string saved_keys(const Json& state) {
    std::string out;
    for (auto it = state.begin(); it != state.end(); ++it) out += (out.empty() ? "'" : ", '") + it.key() + "'";
    return out.empty() ? "none" : out;
}

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& path) {
    throw DSPyError(what + " " + quoted(path) + ": " + std::strerror(errno));
}

// Writes `text` to `path` through a temporary file in the same directory and a rename, so a crash leaves either
// the old file or the new one, never a torn one.
void write_atomically(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::path dir = path.parent_path();
    std::string tmpl = (dir.empty() ? std::filesystem::path(".") : dir).string() + "/." +
                       path.filename().string() + ".tmp-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) io_error("cannot create a temporary file to save", path);
    std::string tmp(name.data());
    auto fail = [&](const char* what) {
        int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = saved;
        io_error(what, path);
    };
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("cannot write");
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) fail("cannot flush");
    // mkstemp creates 0600; keep the mode of the file being replaced, else make an ordinary readable file.
    struct stat st {};
    ::fchmod(fd, ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644);
    if (::close(fd) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        io_error("cannot write", path);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        io_error("cannot replace", path);
    }
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) io_error("cannot open saved program", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) io_error("cannot read saved program", path);
    return std::move(ss).str();
}

// BaseModule.load's version check: warn, never fail, about files saved by other versions.
void check_dependency_versions(const Json& state, const std::filesystem::path& path) {
    auto meta = state.find("metadata");
    if (meta == state.end()) return;  // files written from dump_state() alone carry none; nothing to compare
    if (!meta->is_object() || !meta->contains("dependency_versions") || !(*meta)["dependency_versions"].is_object())
        throw ValueError("'metadata' in " + quoted(path) + " must be an object with a 'dependency_versions' object");
    const Json ours = dependency_versions();
    for (const auto& [key, saved] : (*meta)["dependency_versions"].items()) {
        auto mine = ours.find(key);
        std::string mine_s = mine == ours.end() ? "(unknown)" : mine->get<std::string>();
        std::string saved_s = saved.is_string() ? saved.get<std::string>() : saved.dump();
        if (mine != ours.end() && *mine == saved) continue;
        warn("There is a mismatch of " + key + " version between saved model and current environment. You saved with `" +
             key + "==" + saved_s + "`, but now you have `" + key + "==" + mine_s +
             "`. This might cause errors or performance downgrade on the loaded model, please consider loading the "
             "model in the same environment as the saving environment.");
    }
}

}  // namespace

Json Module::dump_state() {
    Json state = Json::object();
    for (auto& [path, predictor] : named_predictors()) state[path] = predictor->dump_state();
    return state;
}

void Module::load_state(const Json& state, const LoadOptions& options) {
    if (!state.is_object())
        throw TypeError(std::string("a module's saved state must be an object keyed by predictor path, got ") +
                        state.type_name());
    // Everything is validated and built first; only then is anything installed (DSPy does a trial run on a
    // deep copy for the same reason).
    auto predictors = named_predictors();
    std::vector<Predict::PreparedState> prepared;
    prepared.reserve(predictors.size());
    for (auto& [path, predictor] : predictors) {
        auto it = state.find(path);
        if (it == state.end())
            throw KeyError("'" + path + "' (no saved state for the predictor at path '" + path +
                           "'; saved keys: " + saved_keys(state) + ")");
        try {
            prepared.push_back(predictor->prepare_state(*it, options));
        } catch (...) {
            detail::rethrow_with_context("in predictor '" + path + "': ");
        }
    }
    for (size_t i = 0; i < predictors.size(); ++i) predictors[i].second->apply_state(std::move(prepared[i]));
}

void Module::save(const std::filesystem::path& path) {
    if (path.extension() == ".pkl")
        throw NotImplementedError("cannot save " + quoted(path) +
                                  ": .pkl files are Python pickles; dspy-cpp saves programs as .json");
    if (path.extension() != ".json")
        throw ValueError("`path` must end with `.json` when saving a program's state, but received: " + path.string());
    Json state = dump_state();
    state["metadata"] = Json{{"dependency_versions", dependency_versions()}};
    std::string text;
    pyfmt::append_orjson(text, state, /*indent2=*/true);
    text += '\n';
    write_atomically(path, text);
}

void Module::load(const std::filesystem::path& path, const LoadOptions& options) {
    if (path.extension() == ".pkl")
        throw ValueError("cannot load " + quoted(path) +
                         ": .pkl files are Python pickles, which can run arbitrary code and which dspy-cpp does not "
                         "read; save the program with .json instead");
    if (path.extension() != ".json")
        throw ValueError("`path` must end with `.json`, but received: " + path.string());
    std::string text = read_file(path);
    Json state;
    try {
        state = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw ValueError(quoted(path) + " is not valid JSON: " + e.what());
    }
    if (!state.is_object())
        throw TypeError(quoted(path) + " must hold a JSON object, got " + std::string(state.type_name()));
    check_dependency_versions(state, path);
    try {
        load_state(state, options);
    } catch (...) {
        detail::rethrow_with_context("", " (loading " + quoted(path) + ")");
    }
}

}  // namespace dspy
