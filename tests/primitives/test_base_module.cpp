#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dspy/clients/lm.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/utils/exceptions.hpp"
#include "support/capture_warnings.hpp"

namespace dspy {

namespace {

namespace fs = std::filesystem;

class Pipeline : public Module {
public:
    Pipeline() {
        register_submodule("gen", gen);
        register_submodule("check", check);
    }
    ChainOfThought gen{"question -> answer"};
    Predict check{"question, answer -> verdict: bool"};
};

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "dspy_test_base_module_XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() { fs::remove_all(path_); }
    [[nodiscard]] fs::path operator/(const std::string& name) const { return path_ / name; }
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

}  // namespace

TEST(ModuleState, DumpStateIsKeyedByPredictorPath) {
    Pipeline prog;
    Json state = prog.dump_state();
    ASSERT_EQ(state.size(), 2u);
    EXPECT_EQ(state.begin().key(), "gen.predict");
    EXPECT_EQ((++state.begin()).key(), "check");
    EXPECT_EQ(state["gen.predict"]["signature"]["fields"][1]["prefix"], "Reasoning:");
}

TEST(ModuleState, TopLevelPredictSavesFlatWithMetadataLast) {
    TempDir dir;
    Predict p("question -> answer");
    p.save(dir / "p.json");
    EXPECT_EQ(slurp(dir / "p.json"),
              "{\n  \"traces\": [],\n  \"train\": [],\n  \"demos\": [],\n  \"signature\": {\n    \"instructions\": "
              "\"Given the fields `question`, produce the fields `answer`.\",\n    \"fields\": [\n      {\n        "
              "\"prefix\": \"Question:\",\n        \"description\": \"${question}\"\n      },\n      {\n        "
              "\"prefix\": \"Answer:\",\n        \"description\": \"${answer}\"\n      }\n    ]\n  },\n  \"lm\": "
              "null,\n  \"metadata\": {\n    \"dependency_versions\": {\n      \"python\": \"3.11\",\n      "
              "\"dspy\": \"3.3.1\",\n      \"cloudpickle\": \"3.1\"\n    }\n  }\n}\n");
}

TEST(ModuleState, SaveLoadRoundTrip) {
    TempDir dir;
    Pipeline a;
    a.gen.predict().demos().push_back(Example{{"question", "q"}, {"reasoning", "r"}, {"answer", "a"}});
    a.check.set_signature(a.check.signature().with_instructions("Check it."));
    a.check.set_lm(std::make_shared<LM>("openai/gpt-4o-mini", LMOptions{.temperature = 0.3, .max_tokens = 500}));
    a.save(dir / "prog.json");

    Pipeline b;
    b.load(dir / "prog.json");
    EXPECT_EQ(b.dump_state(), a.dump_state());
    EXPECT_EQ(b.check.signature().instructions(), "Check it.");
    ASSERT_EQ(b.gen.predict().demos().size(), 1u);
    ASSERT_TRUE(b.check.lm());
    EXPECT_EQ(b.check.lm()->kwargs()["max_tokens"], 500);
    // Saving again reproduces the same bytes.
    b.save(dir / "again.json");
    EXPECT_EQ(slurp(dir / "again.json"), slurp(dir / "prog.json"));
}

TEST(ModuleState, LoadIsAllOrNothing) {
    Pipeline a;
    Json state = a.dump_state();
    state["gen.predict"]["signature"]["instructions"] = "New gen instructions.";
    state["check"]["extended_signature"] = state["check"]["signature"];  // the second predictor fails
    Pipeline b;
    EXPECT_THROW(b.load_state(state), NotImplementedError);
    EXPECT_EQ(b.gen.predict().signature().instructions(), "Given the fields `question`, produce the fields `answer`.");
}

TEST(ModuleState, MissingPredictorIsAKeyErrorNamingPathAndFile) {
    TempDir dir;
    write(dir / "x.json", R"({"gen.predict": {"traces": [], "train": [], "demos": [], "lm": null,
        "signature": {"instructions": "i", "fields": []}}, "metadata": {"dependency_versions": {}}})");
    Pipeline b;
    try {
        b.load(dir / "x.json");
        FAIL() << "the 'check' predictor has no state";
    } catch (const KeyError& e) {
        std::string what = e.what();
        EXPECT_EQ(what.rfind("'check'", 0), 0u) << what;
        EXPECT_NE(what.find("x.json"), std::string::npos) << what;
    }
    EXPECT_EQ(b.gen.predict().signature().instructions(), "Given the fields `question`, produce the fields `answer`.");
}

TEST(ModuleState, ErrorsInsideAPredictorNameItsPath) {
    Pipeline a;
    Json state = a.dump_state();
    state["check"].erase("signature");
    Pipeline b;
    try {
        b.load_state(state);
        FAIL();
    } catch (const KeyError& e) {
        EXPECT_NE(std::string(e.what()).find("'check'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("'signature'"), std::string::npos) << e.what();
    }
}

TEST(ModuleState, OlderLayoutsLoad) {
    // Pre-3.3 files: `lm` first, no `_dspy_lm_class`, no metadata at all, other versions in metadata.
    TempDir dir;
    write(dir / "old.json", R"({"lm": {"model": "openai/gpt-4o-mini", "model_type": "chat", "cache": true,
        "num_retries": 3, "finetuning_model": null, "launch_kwargs": {}, "train_kwargs": {}, "temperature": 0.0,
        "max_tokens": 1000}, "traces": [], "train": [], "demos": [],
        "signature": {"instructions": "Old.", "fields": [{"prefix": "Question:", "description": "${question}"},
                                                          {"prefix": "Answer:", "description": "${answer}"}]}})");
    Predict p("question -> answer");
    p.load(dir / "old.json");
    EXPECT_EQ(p.signature().instructions(), "Old.");
    ASSERT_TRUE(p.lm());
    EXPECT_EQ(p.lm()->dump_state()["_dspy_lm_class"], "dspy.clients.lm.LM");

    Json with_meta = Json::parse(slurp(dir / "old.json"));
    with_meta["metadata"] = {{"dependency_versions", {{"python", "3.13"}, {"dspy", "3.0.0"}, {"cloudpickle", "3.1"}}}};
    write(dir / "old2.json", with_meta.dump());
    Predict q("question -> answer");
    q.load(dir / "old2.json");  // only warns about the versions
    EXPECT_EQ(q.signature().instructions(), "Old.");
}

TEST(ModuleState, SelfWrappedPredictStateDoesNotLoad) {
    // A top-level Predict is saved flat; DSPy does not accept {"self": {...}} for it.
    TempDir dir;
    Predict a("question -> answer");
    Json wrapped = {{"self", a.dump_state()}};
    write(dir / "w.json", wrapped.dump());
    Predict b("question -> answer");
    EXPECT_THROW(b.load(dir / "w.json"), KeyError);
}

TEST(ModuleState, FileErrorsNameTheFile) {
    TempDir dir;
    Predict p("question -> answer");
    try {
        p.load(dir / "missing.json");
        FAIL();
    } catch (const DSPyError& e) {
        EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
    }
    write(dir / "bad.json", "{\"traces\": [");
    try {
        p.load(dir / "bad.json");
        FAIL();
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
    write(dir / "list.json", "[]");
    EXPECT_THROW(p.load(dir / "list.json"), TypeError);
    EXPECT_THROW(p.load(dir / "prog.txt"), ValueError);
    EXPECT_THROW(p.load(dir / "prog.pkl"), ValueError);
    EXPECT_THROW(p.save(dir / "prog.txt"), ValueError);
    EXPECT_THROW(p.save(dir / "prog.pkl"), NotImplementedError);
    try {
        p.save(dir / "no" / "such" / "dir.json");
        FAIL();
    } catch (const DSPyError& e) {
        EXPECT_NE(std::string(e.what()).find("dir.json"), std::string::npos) << e.what();
    }
}

TEST(ModuleState, SaveReplacesTheFileAndLeavesNoTemporaries) {
    TempDir dir;
    write(dir / "p.json", "old contents");
    fs::permissions(dir / "p.json", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    Predict p("question -> answer");
    p.save(dir / "p.json");
    EXPECT_EQ(slurp(dir / "p.json").rfind("{\n  \"traces\"", 0), 0u);
    EXPECT_EQ(fs::status(dir / "p.json").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
    EXPECT_EQ(files, 1u);
}

}  // namespace dspy

namespace dspy {

TEST(ModuleState, LoadWithVersionMismatch) {  // test_load_with_version_mismatch (.json: we write no pickles)
    TempDir dir;
    Predict predict("question->answer");
    predict.save(dir / "program.json");
    Json saved = Json::parse(slurp(dir / "program.json"));
    saved["metadata"]["dependency_versions"] = {{"python", "3.9"}, {"dspy", "2.4.0"}, {"cloudpickle", "2.0"}};
    write(dir / "program.json", saved.dump());

    Predict loaded_predict("question->answer");
    test_support::CaptureWarnings warnings;
    loaded_predict.load(dir / "program.json");
    auto messages = warnings.messages();
    ASSERT_EQ(messages.size(), 3u);
    for (const auto& m : messages) EXPECT_NE(m.find("There is a mismatch of"), std::string::npos) << m;
    EXPECT_EQ(messages[1],
              "There is a mismatch of dspy version between saved model and current environment. You saved with "
              "`dspy==2.4.0`, but now you have `dspy==3.3.1`. This might cause errors or performance downgrade on the "
              "loaded model, please consider loading the model in the same environment as the saving environment.");
    EXPECT_EQ(loaded_predict.signature(), predict.signature());
}

TEST(ModuleState, UnsafeLmKeysAreDroppedWithAWarning) {
    TempDir dir;
    Predict predict("question -> answer");
    Json state = predict.dump_state();
    state["lm"] = {{"model", "openai/gpt-4o-mini"}, {"api_base", "http://evil.example"}, {"base_url", "http://x"}};
    write(dir / "p.json", state.dump());
    test_support::CaptureWarnings warnings;
    predict.load(dir / "p.json");
    EXPECT_EQ(warnings.messages(),
              std::vector<std::string>{"Ignoring unsafe LM config key(s) during state load: ['api_base', "
                                       "'base_url']. Pass allow_unsafe_lm_state=True to preserve these keys for "
                                       "trusted files."});
    EXPECT_FALSE(predict.lm()->dump_state().contains("api_base"));
}

}  // namespace dspy
