// train-count config parsing: values, defaults, path resolution, overrides and errors that name
// the key and the line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cowc/CountingConfig.hpp"
#include "test_counting_support.hpp"

using namespace satsal::counting;
using satsal::counting::test::TempDir;

namespace {

struct ConfigFolder {
    TempDir dir{"config"};
    ConfigFolder() {
        std::filesystem::create_directories(dir / "patches");
        std::ofstream(dir / "train.txt") << "Site/train/00.00001.00002.000.png 0\n";
        std::ofstream(dir / "test.txt") << "Site/test/01.00001.00002.000.png 1\n";
        std::ofstream(dir / "init.pt") << "x";
    }
    std::string base() const { return dir.str(); }
};

const std::string kMinimal =
    "# a comment\n"
    "list = train.txt\n"
    "root = patches\n"
    "init_model = init.pt   # trailing comment\n"
    "output = out/model.pt\n";

}  // namespace

TEST_CASE("train-count config: defaults and relative paths resolve against the config folder", "[counting][config]") {
    ConfigFolder folder;
    const CountTrainOptions o = parse_count_train_config(kMinimal, "t.ini", folder.base());
    CHECK(o.list == folder.dir / "train.txt");
    CHECK(o.root == folder.dir / "patches");
    CHECK(o.test_root == o.root);
    CHECK(o.output == folder.dir / "out/model.pt");
    CHECK(o.classes == 65);
    CHECK(o.epochs == 10);
    CHECK(o.batch_size == 32);
    CHECK(o.learning_rate == 0.05);
    CHECK(o.optimizer == "sgd");
    CHECK(o.seed == 1);
    CHECK(o.threads == 2);
    CHECK(o.holdout_fraction == 0.1);
    CHECK(o.rotation_step == 90);
    CHECK(o.flip);
    CHECK(o.checkpoint.empty());
}

TEST_CASE("train-count config: every key is read, overrides win, and the resolved ini reads back", "[counting][config]") {
    ConfigFolder folder;
    const std::string text = kMinimal +
                             "test_list = test.txt\nclasses = 33\nepochs = 7\nbatch_size = 16\nlearning_rate = 0.01\n"
                             "optimizer = adam\nweight_decay = 0\nwarmup_fraction = 0.1\nseed = 42\nthreads = 1\n"
                             "label_sigma = 0.5\nholdout_fraction = 0\nrotation_step = 15\nflip = false\nlog_every = 5\n"
                             "checkpoint = ck/run.ckpt\ncheckpoint_every = 100\nreport = report.json\n";
    const CountTrainOptions o = parse_count_train_config(text, "t.ini", folder.base(), {"epochs=9", "seed = 43"});
    CHECK(o.test_list == folder.dir / "test.txt");
    CHECK(o.classes == 33);
    CHECK(o.epochs == 9);
    CHECK(o.seed == 43);
    CHECK(o.batch_size == 16);
    CHECK(o.learning_rate == 0.01);
    CHECK(o.optimizer == "adam");
    CHECK(o.weight_decay == 0);
    CHECK(o.warmup_fraction == 0.1);
    CHECK(o.threads == 1);
    CHECK(o.label_sigma == 0.5);
    CHECK(o.holdout_fraction == 0);
    CHECK(o.rotation_step == 15);
    CHECK_FALSE(o.flip);
    CHECK(o.log_every == 5);
    CHECK(o.checkpoint == folder.dir / "ck/run.ckpt");
    CHECK(o.checkpoint_every == 100);
    CHECK(o.report == folder.dir / "report.json");

    const CountTrainOptions back = parse_count_train_config(count_train_config_ini(o), "resolved.ini", "/");
    CHECK(back.list == o.list);
    CHECK(back.test_list == o.test_list);
    CHECK(back.test_root == o.test_root);
    CHECK(back.epochs == o.epochs);
    CHECK(back.learning_rate == o.learning_rate);
    CHECK(back.optimizer == o.optimizer);
    CHECK(back.rotation_step == o.rotation_step);
    CHECK(back.flip == o.flip);
    CHECK(back.checkpoint == o.checkpoint);
    CHECK(count_train_config_ini(back) == count_train_config_ini(o));
}

TEST_CASE("train-count config errors name the file, the line and the key", "[counting][config]") {
    ConfigFolder folder;
    const std::string base = folder.base();
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "epochs = 0\n", "t.ini", base),
                      "t.ini:6: key 'epochs': expected an integer >= 1, got '0'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "\nlearning_rate = fast\n", "t.ini", base),
                      "t.ini:7: key 'learning_rate': expected a number, got 'fast'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "epochz = 3\n", "t.ini", base),
                      Catch::StartsWith("t.ini:6: unknown key 'epochz' (known keys: list, root, test_list"));
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "classes = 3\nclasses = 4\n", "t.ini", base),
                      "t.ini:7: key 'classes': given twice (first on line 6)");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "rotation_step = 20\n", "t.ini", base),
                      "t.ini:6: key 'rotation_step': expected 0 or a multiple of 15 that divides 360 "
                      "(15, 30, 45, 60, 90, 120, 180), got '20'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "optimizer = lbfgs\n", "t.ini", base),
                      "t.ini:6: key 'optimizer': expected sgd or adam, got 'lbfgs'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "flip = maybe\n", "t.ini", base),
                      "t.ini:6: key 'flip': expected true or false, got 'maybe'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "holdout_fraction = 1\n", "t.ini", base),
                      "t.ini:6: key 'holdout_fraction': expected a number in [0, 1), got '1'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "test_list = missing.txt\n", "t.ini", base),
                      "t.ini:6: key 'test_list': file '" + (folder.dir / "missing.txt") + "' does not exist");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "[train]\n", "t.ini", base),
                      "t.ini:6: sections are not used in a train-count config, found '[train]'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "just words\n", "t.ini", base),
                      "t.ini:6: expected 'key = value', found 'just words'");
    CHECK_THROWS_WITH(parse_count_train_config("list = train.txt\nroot = patches\noutput = o.pt\n", "t.ini", base),
                      Catch::StartsWith("t.ini: key 'init_model' is required"));
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal + "checkpoint = out/model.pt\n", "t.ini", base),
                      "t.ini:6: key 'checkpoint': must differ from output ('" + (folder.dir / "out/model.pt") + "')");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal, "t.ini", base, {"batch_size=1"}),
                      "--set batch_size=1: key 'batch_size': expected an integer >= 2, got '1'");
    CHECK_THROWS_WITH(parse_count_train_config(kMinimal, "t.ini", base, {"nope=1"}),
                      Catch::StartsWith("--set nope=1: unknown key 'nope'"));
}

TEST_CASE("an empty value restores the default and load_count_train_config reads a file", "[counting][config]") {
    ConfigFolder folder;
    std::ofstream(folder.dir / "c.ini") << kMinimal << "epochs =\n";
    const CountTrainOptions o = load_count_train_config(folder.dir / "c.ini");
    CHECK(o.epochs == 10);
    CHECK(o.list == folder.dir / "train.txt");
    CHECK_THROWS_WITH(load_count_train_config(folder.dir / "absent.ini"),
                      "cannot read train-count config '" + (folder.dir / "absent.ini") + "'");
}
