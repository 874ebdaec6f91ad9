// dspy_golden: replays fixtures recorded from Python DSPy 3.3.1 and reports every difference.
//   dspy_golden --fixtures DIR [--filter SUBSTRING] [--quiet]
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include "dspy/utils/exceptions.hpp"
#include "golden.hpp"

namespace dspy::golden {

namespace {
std::map<std::string, Runner>& registry() {
    static std::map<std::string, Runner> r;
    return r;
}

std::string shorten(std::string_view s, size_t at) {
    size_t from = at > 30 ? at - 30 : 0;
    std::string out(s.substr(from, 80));
    std::string esc;
    for (char c : out) {
        if (c == '\n')
            esc += "\\n";
        else
            esc += c;
    }
    return esc;
}
}  // namespace

void register_suite(const std::string& stem, Runner runner) { registry()[stem] = std::move(runner); }

std::string first_difference(std::string_view expected, std::string_view actual) {
    if (expected == actual) return {};
    size_t i = 0;
    while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
    size_t line = 1 + static_cast<size_t>(std::count(expected.begin(), expected.begin() + static_cast<long>(i), '\n'));
    return "at byte " + std::to_string(i) + " (line " + std::to_string(line) + "): expected «" +
           shorten(expected, i) + "» got «" + shorten(actual, i) + "»";
}

std::string json_difference(const Json& e, const Json& a, bool ordered, const std::string& path) {
    auto show = [](const Json& v) { return v.dump().substr(0, 200); };
    if (e.type() != a.type()) {
        // unsigned and signed integers are the same Python int
        if (e.is_number_integer() && a.is_number_integer() && e == a) return {};
        return path + ": expected " + show(e) + " (" + e.type_name() + "), got " + show(a) + " (" + a.type_name() + ")";
    }
    if (e.is_object()) {
        if (e.size() != a.size()) return path + ": expected keys " + show(e) + ", got " + show(a);
        auto ai = a.begin();
        for (auto it = e.begin(); it != e.end(); ++it, ++ai) {
            if (ordered && ai.key() != it.key())
                return path + ": key order differs: expected '" + it.key() + "', got '" + ai.key() + "'";
            auto f = a.find(it.key());
            if (f == a.end()) return path + ": missing key '" + it.key() + "'";
            if (auto d = json_difference(*it, *f, ordered, path + "." + it.key()); !d.empty()) return d;
        }
        return {};
    }
    if (e.is_array()) {
        if (e.size() != a.size())
            return path + ": expected " + std::to_string(e.size()) + " items, got " + std::to_string(a.size());
        for (size_t i = 0; i < e.size(); ++i)
            if (auto d = json_difference(e[i], a[i], ordered, path + "[" + std::to_string(i) + "]"); !d.empty())
                return d;
        return {};
    }
    if (e.is_string()) {
        auto d = first_difference(e.get<std::string>(), a.get<std::string>());
        return d.empty() ? d : path + ": " + d;
    }
    if (e != a) return path + ": expected " + show(e) + ", got " + show(a);
    return {};
}

Signature build_signature(const Json& spec) {
    std::string instructions = spec.value("instructions", std::string());
    if (spec.contains("string")) return Signature(spec.at("string").get<std::string>(), instructions);
    std::vector<Field> fields;
    for (const auto& f : spec.at("fields")) {
        std::string name = f.at("name").get<std::string>();
        TypeSpec type = f.contains("type") && f["type"].is_string() ? TypeSpec::parse(f["type"].get<std::string>())
                                                                     : TypeSpec{};
        std::string desc = f.contains("desc") && f["desc"].is_string() ? f["desc"].get<std::string>() : "";
        Field field = f.at("io") == "input" ? Field::input(name, type, desc) : Field::output(name, type, desc);
        if (f.contains("prefix") && f["prefix"].is_string()) field.prefix = f["prefix"].get<std::string>();
        fields.push_back(std::move(field));
    }
    return Signature::from_fields(std::move(fields), instructions);
}

std::string error_kind(const std::exception& e) {
    if (dynamic_cast<const AdapterParseError*>(&e)) return "AdapterParseError";
    if (dynamic_cast<const SignatureError*>(&e)) return "SignatureError";
    if (dynamic_cast<const ValueError*>(&e)) return "ValueError";
    if (dynamic_cast<const TypeError*>(&e)) return "TypeError";
    if (dynamic_cast<const KeyError*>(&e)) return "KeyError";
    if (dynamic_cast<const NotImplementedError*>(&e)) return "NotImplementedError";
    return "std::exception";
}

}  // namespace dspy::golden

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    using namespace dspy::golden;
    std::string dir, filter;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--fixtures" && i + 1 < argc)
            dir = argv[++i];
        else if (a == "--filter" && i + 1 < argc)
            filter = argv[++i];
        else if (a == "--quiet")
            quiet = true;
        else {
            std::cerr << "usage: dspy_golden --fixtures DIR [--filter SUBSTRING] [--quiet]\n";
            return 2;
        }
    }
    if (dir.empty() || !fs::is_directory(dir)) {
        std::cerr << "dspy_golden: --fixtures must name a directory of *.jsonl files (got '" << dir << "')\n";
        return 2;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".jsonl") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    size_t passed = 0, failed = 0;
    for (const auto& file : files) {
        std::string stem = file.stem().string();
        auto it = registry().find(stem);
        std::ifstream in(file);
        std::string line;
        size_t lineno = 0;
        while (std::getline(in, line)) {
            ++lineno;
            if (line.empty()) continue;
            dspy::Json c;
            try {
                c = dspy::Json::parse(line);
            } catch (const std::exception& e) {
                ++failed;
                std::cout << "FAIL " << file.filename().string() << ":" << lineno << ": unreadable line: " << e.what()
                          << "\n";
                continue;
            }
            std::string id = c.value("id", file.filename().string() + ":" + std::to_string(lineno));
            if (!filter.empty() && id.find(filter) == std::string::npos) continue;
            Outcome o;
            if (it == registry().end()) {
                o = Outcome::fail("no runner for " + file.filename().string());
            } else {
                try {
                    o = it->second(c);
                } catch (const std::exception& e) {
                    o = Outcome::fail(std::string("unexpected ") + error_kind(e) + ": " + e.what());
                }
            }
            if (o.ok) {
                ++passed;
                if (!quiet) std::cout << "ok   " << id << "\n";
            } else {
                ++failed;
                std::cout << "FAIL " << id << ": " << o.diff << "\n";
            }
        }
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed == 0 && passed > 0 ? 0 : 1;
}
