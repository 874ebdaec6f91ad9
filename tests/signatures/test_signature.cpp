#include "dspy/signatures/signature.hpp"

#include <gtest/gtest.h>

#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

// The message of the SignatureError that building `spec` throws; fails the test when it does not throw.
std::string build_error(std::string_view spec) {
    try {
        Signature s(spec);
        ADD_FAILURE() << "'" << spec << "' built as '" << s.signature_string() << "'";
    } catch (const SignatureError& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> names(const Signature& s) {
    std::vector<std::string> out;
    for (const auto& f : s.fields()) out.push_back(f.name + (f.is_input ? "<" : ">"));
    return out;
}

using V = std::vector<std::string>;

TEST(InferPrefix, MatchesDSPyTestVectors) {
    EXPECT_EQ(infer_prefix("someAttributeName42IsCool"), "Some Attribute Name 42 Is Cool");
    EXPECT_EQ(infer_prefix("URLAddress"), "URL Address");
    EXPECT_EQ(infer_prefix("isHTTPSSecure123"), "Is HTTPS Secure 123");
    EXPECT_EQ(infer_prefix("snake_case_text"), "Snake Case Text");
    EXPECT_EQ(infer_prefix("camelCaseText"), "Camel Case Text");
    EXPECT_EQ(infer_prefix("text2number"), "Text 2 Number");
    EXPECT_EQ(infer_prefix("HTMLParser"), "HTML Parser");
    EXPECT_EQ(infer_prefix("is_true"), "Is True");
    EXPECT_EQ(infer_prefix("a__b"), "A  B");
    EXPECT_EQ(infer_prefix("ab_"), "Ab ");
    EXPECT_EQ(infer_prefix("ABC"), "ABC");
    EXPECT_EQ(infer_prefix("x2Y3z"), "X 2 Y 3 Z");
    EXPECT_EQ(infer_prefix("getHTTPResponseCode"), "Get HTTP Response Code");
    EXPECT_EQ(infer_prefix("iOS"), "I OS");
    EXPECT_EQ(infer_prefix("café"), "Café");
    EXPECT_EQ(infer_prefix("résumé"), "Résumé");
    EXPECT_EQ(infer_prefix("ÉCOLE"), "ÉCOLE");
    EXPECT_EQ(infer_prefix("straße"), "Straße");
    EXPECT_EQ(infer_prefix("naïve_score"), "Naïve Score");
}

TEST(Field, FactoriesFillDSPyDefaults) {
    Field in = Field::input("questionText");
    EXPECT_TRUE(in.is_input);
    EXPECT_EQ(in.prefix, "Question Text:");
    EXPECT_EQ(in.desc, "${questionText}");
    EXPECT_TRUE(in.has_default_desc());
    EXPECT_EQ(in.type.kind, TypeSpec::Kind::Str);
    Field out = Field::output("score", TypeSpec::parse("float"), "how good");
    EXPECT_FALSE(out.is_input);
    EXPECT_EQ(out.desc, "how good");
    EXPECT_FALSE(out.has_default_desc());
    EXPECT_EQ(out.prefix, "Score:");
    EXPECT_EQ(out.type.kind, TypeSpec::Kind::Float);
}

TEST(SignatureGrammar, ParsesNamesTypesAndDefaultInstructions) {
    Signature s("question, context: list[str] -> answer: int");
    EXPECT_EQ(names(s), (V{"question<", "context<", "answer>"}));
    EXPECT_EQ(s.n_inputs(), 2u);
    EXPECT_EQ(s.signature_string(), "question, context -> answer");
    EXPECT_EQ(s.instructions(), "Given the fields `question`, `context`, produce the fields `answer`.");
    EXPECT_EQ(s.field("context")->type.render(), "list[str]");
    EXPECT_EQ(s.field("answer")->type.kind, TypeSpec::Kind::Int);
    EXPECT_EQ(s.field("answer")->prefix, "Answer:");
    EXPECT_EQ(s.field("answer")->desc, "${answer}");
    EXPECT_EQ(s.field("missing"), nullptr);
}

TEST(SignatureGrammar, OnlyUntypedInputsAreMarkedTypeUndefined) {
    Signature s("a, b: str -> c, d: int");
    EXPECT_TRUE(s.field("a")->type_undefined);
    EXPECT_FALSE(s.field("b")->type_undefined);
    EXPECT_FALSE(s.field("c")->type_undefined);  // OutputField() never carries IS_TYPE_UNDEFINED
    EXPECT_EQ(s.field("c")->type.kind, TypeSpec::Kind::Str);
}

TEST(SignatureGrammar, WhitespaceCommentsAndLineBreaksAreInsignificant) {
    EXPECT_EQ(names(Signature("   question  ,\tcontext   ->    answer   ")), (V{"question<", "context<", "answer>"}));
    EXPECT_EQ(names(Signature("question:str->answer:int")), (V{"question<", "answer>"}));
    EXPECT_EQ(names(Signature("a,\n b -> c")), (V{"a<", "b<", "c>"}));
    EXPECT_EQ(names(Signature("a, # first\n b -> c")), (V{"a<", "b<", "c>"}));
    EXPECT_EQ(Signature("a->b:Optional [ int ]").field("b")->type.render(), "Union[int, NoneType]");
}

TEST(SignatureGrammar, SplitsOnTopLevelCommasOnly) {
    Signature s("a: dict[str, tuple[int, str]], b: Literal['x, y', 'z'] -> c: Union[int, str], d");
    EXPECT_EQ(names(s), (V{"a<", "b<", "c>", "d>"}));
    EXPECT_EQ(s.field("a")->type.render(), "dict[str, tuple[int, str]]");
    EXPECT_EQ(s.field("b")->type.render(), "Literal['x, y', 'z']");
    EXPECT_EQ(s.field("c")->type.render(), "Union[int, str]");
}

TEST(SignatureGrammar, DefaultsParseAndAreIgnored) {
    Signature s("a: int = 5, b='x,y', c = [1, (2, 3)] -> d: str = 'y'");
    EXPECT_EQ(names(s), (V{"a<", "b<", "c<", "d>"}));
    EXPECT_EQ(s.field("a")->type.kind, TypeSpec::Kind::Int);
    EXPECT_EQ(s.field("b")->type.kind, TypeSpec::Kind::Str);
    EXPECT_EQ(names(Signature("a = f'{x}' -> b")), (V{"a<", "b>"}));
}

TEST(SignatureGrammar, EmptySidesTrailingCommasAndDuplicates) {
    Signature only_in("question ->");
    EXPECT_EQ(names(only_in), (V{"question<"}));
    EXPECT_EQ(only_in.instructions(), "Given the fields `question`, produce the fields .");
    Signature none("->");
    EXPECT_TRUE(none.fields().empty());
    EXPECT_EQ(none.signature_string(), " -> ");
    EXPECT_EQ(none.instructions(), "Given the fields , produce the fields .");
    EXPECT_EQ(names(Signature("a, b, -> c,")), (V{"a<", "b<", "c>"}));
    EXPECT_EQ(names(Signature("a, a -> b")), (V{"a<", "b>"}));
    EXPECT_EQ(names(Signature("a -> b, b")), (V{"a<", "b>"}));
}

TEST(SignatureGrammar, StarredAndPositionalOnlyParametersAreDropped) {
    EXPECT_EQ(names(Signature("a, *, b -> c")), (V{"a<", "c>"}));
    EXPECT_EQ(names(Signature("*args, a -> b")), (V{"b>"}));
    EXPECT_EQ(names(Signature("a, **kw -> b")), (V{"a<", "b>"}));
    EXPECT_EQ(names(Signature("a, /, b -> c")), (V{"b<", "c>"}));
    EXPECT_EQ(names(Signature("a=1, *, b, c=2 -> d")), (V{"a<", "d>"}));
}

TEST(SignatureGrammar, NoneAnnotationMeansStr) {
    Signature s("a: None -> b");
    EXPECT_EQ(s.field("a")->type.kind, TypeSpec::Kind::Str);
    EXPECT_FALSE(s.field("a")->type_undefined);
}

TEST(SignatureGrammar, UnicodeNamesAndSoftKeywords) {
    Signature s("café -> résumé");
    EXPECT_EQ(s.field("café")->prefix, "Café:");
    EXPECT_EQ(s.field("résumé")->prefix, "Résumé:");
    EXPECT_EQ(names(Signature("match, type -> case")), (V{"match<", "type<", "case>"}));
}

TEST(SignatureGrammar, ArrowCountErrorsQuoteTheSignature) {
    EXPECT_EQ(build_error("question, answer"),
              "Invalid signature format: 'question, answer', must contain exactly one '->'.");
    EXPECT_EQ(build_error("a -> b -> c"), "Invalid signature format: 'a -> b -> c', must contain exactly one '->'.");
    EXPECT_EQ(build_error(""), "Invalid signature format: '', must contain exactly one '->'.");
}

TEST(SignatureGrammar, NameErrorsQuoteTheName) {
    EXPECT_NE(build_error("class -> answer").find("'class'"), std::string::npos);
    EXPECT_NE(build_error("a -> def").find("'def'"), std::string::npos);
    EXPECT_NE(build_error("None -> b").find("'None'"), std::string::npos);
    EXPECT_NE(build_error("first name -> answer").find("'name "), std::string::npos);
    EXPECT_NE(build_error("1question -> answer").find("'1question'"), std::string::npos);
    EXPECT_NE(build_error("a.b -> c").find("'.b "), std::string::npos);
    EXPECT_NE(build_error("a→b -> c").find("→"), std::string::npos);
    EXPECT_NE(build_error("a\v -> c").find("U+000B"), std::string::npos);
    EXPECT_NE(build_error("a) -> b").find("')"), std::string::npos);
}

TEST(SignatureGrammar, EmptyParametersAreSyntaxErrors) {
    EXPECT_NE(build_error("a,, b -> c").find("', b "), std::string::npos);
    EXPECT_NE(build_error(", a -> b").find("expected a field name"), std::string::npos);
    EXPECT_NE(build_error("a -> ,").find("expected a field name"), std::string::npos);
}

TEST(SignatureGrammar, ParameterOrderErrors) {
    EXPECT_NE(build_error("a = 1, b -> c").find("non-default argument follows default argument"), std::string::npos);
    EXPECT_NE(build_error("a = -> b").find("expected a default value"), std::string::npos);
    EXPECT_NE(build_error("a = (1 -> b").find("never closed"), std::string::npos);
    EXPECT_NE(build_error("a = 1) -> b").find("unmatched ')'"), std::string::npos);
    EXPECT_NE(build_error("* -> b").find("named arguments must follow bare *"), std::string::npos);
    EXPECT_NE(build_error("a, * -> b").find("named arguments must follow bare *"), std::string::npos);
    EXPECT_NE(build_error("**kw, a -> b").find("'**kw'"), std::string::npos);
    EXPECT_NE(build_error("/, a -> b").find("'/'"), std::string::npos);
    EXPECT_NE(build_error("*a = 1 -> b").find("'*a' cannot have a default"), std::string::npos);
    EXPECT_NE(build_error("a # comment -> b").find("'# comment '"), std::string::npos);
    EXPECT_NE(build_error("a = 01 -> b").find("'01'"), std::string::npos);
    EXPECT_NE(build_error("a = \"open -> b").find("unterminated string literal \"open"), std::string::npos);
}

TEST(SignatureGrammar, DuplicatesAcrossSidesAreSortedInTheMessage) {
    EXPECT_EQ(build_error("a, b -> b, a"),
              "Input and output fields must have distinct names, but found duplicates: 'a, b'.");
    EXPECT_EQ(build_error("x, c -> c"), "Input and output fields must have distinct names, but found duplicates: 'c'.");
}

TEST(SignatureGrammar, LeadingUnderscoreIsRejectedWithPydanticMessage) {
    EXPECT_EQ(build_error("_hidden -> answer"),
              "Fields must not use names with leading underscores; e.g., use 'hidden' instead of '_hidden'.");
    EXPECT_EQ(build_error("a -> __b"),
              "Fields must not use names with leading underscores; e.g., use 'b' instead of '__b'.");
}

TEST(SignatureGrammar, TypeErrorsNameTheType) {
    EXPECT_EQ(build_error("a: Frobnicator -> b"), "Unknown name: Frobnicator");
    EXPECT_NE(build_error("a -> b: Optional[int, str]").find("Optional must have exactly one type argument"),
              std::string::npos);
    EXPECT_NE(build_error("a: 'str' -> b").find("Field types must be types, but received: str of type <class 'str'>"),
              std::string::npos);
    EXPECT_NE(build_error("a -> b: List").find("typing.List"), std::string::npos);
    EXPECT_NE(build_error("a -> b: Literal[-1]").find("'-1'"), std::string::npos);
}

TEST(SignatureInstructions, GivenInstructionsGoThroughCleandoc) {
    EXPECT_EQ(Signature("q -> a", "Answer concisely.").instructions(), "Answer concisely.");
    EXPECT_EQ(Signature("q -> a", "\n    Answer.\n      Detail.\n    Last.\n  ").instructions(),
              "Answer.\n  Detail.\nLast.");
    EXPECT_EQ(Signature("q -> a", "   \n  ").instructions(), "  ");  // only empty edge lines are dropped
    EXPECT_EQ(Signature("q -> a", "   ").instructions(), "");
    EXPECT_EQ(Signature("q -> a", "").instructions(), "Given the fields `q`, produce the fields `a`.");
}

class SignatureMethods : public ::testing::Test {
protected:
    Signature sig{"a, b -> c", "Do it."};
};

TEST_F(SignatureMethods, AccessorsAreCachedViews) {
    const auto& ins = sig.input_fields();
    ASSERT_EQ(ins.size(), 2u);
    EXPECT_EQ(ins[0]->name, "a");
    EXPECT_EQ(&ins, &sig.input_fields());  // no rebuilding per call
    EXPECT_EQ(sig.output_fields().at(0)->name, "c");
    ASSERT_EQ(sig.inputs().size(), 2u);
    EXPECT_EQ(sig.inputs()[1].name, "b");
    ASSERT_EQ(sig.outputs().size(), 1u);
    EXPECT_EQ(sig.outputs()[0].name, "c");
    Signature copy = sig;
    EXPECT_EQ(&copy.fields(), &sig.fields());  // copies share the fields
}

TEST_F(SignatureMethods, FromFieldsPutsInputsFirstAndFillsDefaults) {
    Field bare;
    bare.name = "extra";
    bare.is_input = true;
    Signature s = Signature::from_fields(
        {Field::output("answer", TypeSpec::parse("int")), Field::input("question"), bare}, "");
    EXPECT_EQ(names(s), (V{"question<", "extra<", "answer>"}));
    EXPECT_EQ(s.field("extra")->prefix, "Extra:");
    EXPECT_EQ(s.field("extra")->desc, "${extra}");
    EXPECT_EQ(s.instructions(), "Given the fields `question`, `extra`, produce the fields `answer`.");
    EXPECT_THROW((void)Signature::from_fields({Field::input("_x")}), SignatureError);
    EXPECT_THROW((void)Signature::from_fields({Field::input("")}), SignatureError);
}

TEST_F(SignatureMethods, FromFieldsMergesRepeatedNamesLikeADict) {
    Signature s = Signature::from_fields({Field::input("a"), Field::input("b"), Field::input("a", {}, "second")});
    EXPECT_EQ(names(s), (V{"a<", "b<"}));
    EXPECT_EQ(s.field("a")->desc, "second");
}

TEST_F(SignatureMethods, WithAndAppendInstructions) {
    Signature w = sig.with_instructions("  New.\n    more");
    EXPECT_EQ(w.instructions(), "New.\nmore");
    EXPECT_EQ(names(w), names(sig));
    EXPECT_EQ(sig.instructions(), "Do it.");  // unchanged
    EXPECT_EQ(sig.with_instructions("").instructions(), "Given the fields `a`, `b`, produce the fields `c`.");
    EXPECT_EQ(sig.append_instructions("Then stop.").instructions(), "Do it.\n\nThen stop.");
    EXPECT_EQ(Signature("a -> b", "  Line.\n    more").append_instructions("  x\n  y").instructions(),
              "Line.\nmore\n\n  x\n  y");
}

TEST_F(SignatureMethods, InsertPrependAppend) {
    EXPECT_EQ(names(sig.insert(0, Field::input("x"))), (V{"x<", "a<", "b<", "c>"}));
    EXPECT_EQ(names(sig.insert(1, Field::input("x"))), (V{"a<", "x<", "b<", "c>"}));
    EXPECT_EQ(names(sig.insert(-1, Field::input("x"))), (V{"a<", "b<", "x<", "c>"}));
    EXPECT_EQ(names(sig.insert(-3, Field::input("x"))), (V{"x<", "a<", "b<", "c>"}));
    EXPECT_EQ(names(sig.insert(0, Field::output("r"))), (V{"a<", "b<", "r>", "c>"}));
    EXPECT_EQ(names(sig.prepend(Field::output("reasoning"))), (V{"a<", "b<", "reasoning>", "c>"}));
    EXPECT_EQ(names(sig.append(Field::input("z"))), (V{"a<", "b<", "z<", "c>"}));
    EXPECT_EQ(names(sig.append(Field::output("z"))), (V{"a<", "b<", "c>", "z>"}));
    EXPECT_EQ(sig.append(Field::output("z")).instructions(), "Do it.");
}

TEST_F(SignatureMethods, InsertOutOfRangeUsesDSPyMessage) {
    auto message = [&](int i, Field f) {
        try {
            (void)sig.insert(i, std::move(f));
        } catch (const ValueError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message(3, Field::input("x")),
              "Invalid index to insert: 3, index must be in the range of [1, 2] for input fields, but received: 3.");
    EXPECT_EQ(message(-4, Field::input("x")),
              "Invalid index to insert: -1, index must be in the range of [1, 2] for input fields, but received: -1.");
    EXPECT_EQ(message(2, Field::output("y")),
              "Invalid index to insert: 2, index must be in the range of [0, 1] for output fields, but received: 2.");
}

TEST_F(SignatureMethods, InsertingAnExistingNameKeepsTheFirstPositionAndLastValue) {
    // dict(input_fields + output_fields) in Signature.insert
    Signature a = sig.insert(0, Field::input("b", {}, "new"));
    EXPECT_EQ(names(a), (V{"b<", "a<", "c>"}));
    EXPECT_EQ(a.field("b")->desc, "${b}");
    Signature b = sig.insert(0, Field::output("b", {}, "new"));
    EXPECT_EQ(names(b), (V{"a<", "b>", "c>"}));
    EXPECT_EQ(b.field("b")->desc, "new");
}

TEST_F(SignatureMethods, RemoveAndUpdate) {
    EXPECT_EQ(names(sig.remove("a")), (V{"b<", "c>"}));
    EXPECT_EQ(names(sig.remove("nope")), names(sig));
    EXPECT_EQ(sig.remove("a").instructions(), "Do it.");
    Signature u = sig.with_updated_field("c", std::string("the answer"), std::string("Ans:"), TypeSpec::parse("int"));
    EXPECT_EQ(u.field("c")->desc, "the answer");
    EXPECT_EQ(u.field("c")->prefix, "Ans:");
    EXPECT_EQ(u.field("c")->type.kind, TypeSpec::Kind::Int);
    EXPECT_EQ(sig.field("c")->desc, "${c}");  // original untouched
    Signature only_desc = sig.with_updated_field("a", std::string("A"));
    EXPECT_EQ(only_desc.field("a")->prefix, "A:");
    EXPECT_THROW((void)sig.with_updated_field("zz", std::string("x")), KeyError);
}

TEST_F(SignatureMethods, DumpAndLoadState) {
    Json state = sig.dump_state();
    EXPECT_EQ(state.dump(),
              R"({"instructions":"Do it.","fields":[{"prefix":"A:","description":"${a}"},{"prefix":"B:","description":"${b}"},{"prefix":"C:","description":"${c}"}]})");
    Signature l = sig.load_state(Json::parse(R"({"instructions": "  New\n   text", "fields": [{"prefix": "P:", "description": "D"}]})"));
    EXPECT_EQ(l.instructions(), "New\ntext");
    EXPECT_EQ(l.field("a")->prefix, "P:");
    EXPECT_EQ(l.field("a")->desc, "D");
    EXPECT_EQ(l.field("b")->desc, "${b}");  // zip stops at the shorter list
    EXPECT_EQ(l.input_fields()[0]->desc, "D");  // cached views follow the copy
    EXPECT_EQ(sig.load_state(Json::parse(R"({"instructions": "", "fields": []})")).instructions(), "");
    EXPECT_THROW((void)sig.load_state(Json::parse(R"({"fields": []})")), KeyError);
    EXPECT_THROW((void)sig.load_state(Json::parse(R"({"instructions": "x", "fields": [{"prefix": "P"}]})")), KeyError);
    EXPECT_THROW((void)sig.load_state(Json::parse(R"({"instructions": 3, "fields": []})")), TypeError);
}

TEST_F(SignatureMethods, EqualityFollowsSignatureEquals) {
    EXPECT_TRUE(sig == Signature("a, b -> c", "Do it."));
    EXPECT_TRUE(sig == Signature("a, b -> c: int", "Do it."));    // annotations are not compared
    EXPECT_FALSE(sig == Signature("a: str, b -> c", "Do it."));   // IS_TYPE_UNDEFINED differs
    EXPECT_FALSE(sig == Signature("a, b -> c", "Other."));
    EXPECT_FALSE(sig == Signature("a, b -> d", "Do it."));
    EXPECT_FALSE(sig == sig.with_updated_field("a", std::string("desc")));
    EXPECT_TRUE(sig == Signature("b, a -> c", "Do it."));          // order is not compared
}

}  // namespace
}  // namespace dspy
