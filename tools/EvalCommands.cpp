// `satsal evaluate CONFIG`: the saliency evaluation on COWC counting (eval/Evaluate.hpp).
#include "tools/Commands.hpp"

#include "eval/EvalConfig.hpp"
#include "eval/Evaluate.hpp"

#include <iostream>

namespace po = boost::program_options;

namespace satsal::cli {

int evaluate(int argc, char** argv) {
    std::string config_path;
    std::vector<std::string> overrides;
    bool print_config = false;
    po::options_description described("evaluate options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "evaluation config (configs/eval-small.ini, eval-paper.ini)")
        ("set", po::value(&overrides)->composing(), "override a key: --set key=value (repeatable)")
        ("print-config", po::bool_switch(&print_config), "print the resolved config and exit");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal evaluate CONFIG [--set key=value ...] [--print-config]\n\n"
               "KAR/ROAR at layer and image level and ROAD on COWC counting; writes CSVs, summary.json,\n"
               "report.md and plots under `output`.\n\nconfig keys:\n" +
                   eval::eval_config_reference(),
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    const eval::EvalOptions options = eval::load_eval_config(config_path, overrides);
    if (print_config) {
        std::cout << eval::eval_config_ini(options);
        return 0;
    }
    eval::run_evaluation(options, std::cerr);
    std::cout << "wrote " << options.output << "/report.md\n";
    return 0;
}

}  // namespace satsal::cli
